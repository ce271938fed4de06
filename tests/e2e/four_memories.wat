;; A hostile sonde:probe@0.1.0 plugin with four linear memories (one per
;; core instance, as the pool allows): `check` grows each by 60 MiB and
;; touches every page, so a cap applied to each memory alone would let it
;; hold 240 MiB. With the cap on the check (all memories together) the
;; second growth traps: ERROR "memory limit exceeded".
;; Turned into a binary by the `wat` crate in tests/e2e/host_memory.rs.
(component
  ;; One memory, and a function that grows it by $pages and writes a byte
  ;; to each new 4 KiB page so they are resident.
  (core module $Grower
    (memory (export "memory") 1)
    (func (export "fill") (param $pages i32)
      (local $at i32) (local $end i32)
      (local.set $at (i32.mul (memory.grow (local.get $pages)) (i32.const 65536)))
      (if (i32.lt_s (local.get $at) (i32.const 0)) (then unreachable))
      (local.set $end (i32.mul (memory.size) (i32.const 65536)))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
          (i32.store8 (local.get $at) (i32.const 1))
          (local.set $at (i32.add (local.get $at) (i32.const 4096)))
          (br $next)))))

  ;; The probe: its own memory (the fourth), strings, a bump allocator, and
  ;; the three exports lifted below.
  (core module $Main
    (import "g1" "fill" (func $fill1 (param i32)))
    (import "g2" "fill" (func $fill2 (param i32)))
    (import "g3" "fill" (func $fill3 (param i32)))
    (memory (export "memory") 1)
    (global $heap (mut i32) (i32.const 4096))
    (data (i32.const 16) "four-memories")
    (data (i32.const 32) "0.1.0")
    (data (i32.const 48) "Grows four memories")
    (data (i32.const 80) "{\"type\":\"object\"}")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
      (global.set $heap (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    ;; probe-info at 1024: four (pointer, length) pairs.
    (func (export "info") (result i32)
      (i32.store (i32.const 1024) (i32.const 16))
      (i32.store (i32.const 1028) (i32.const 13))
      (i32.store (i32.const 1032) (i32.const 32))
      (i32.store (i32.const 1036) (i32.const 5))
      (i32.store (i32.const 1040) (i32.const 48))
      (i32.store (i32.const 1044) (i32.const 19))
      (i32.store (i32.const 1048) (i32.const 80))
      (i32.store (i32.const 1052) (i32.const 17))
      (i32.const 1024))
    ;; ok(empty list): all zeros.
    (func (export "endpoints") (param i32 i32) (result i32)
      (i32.const 1088))
    (func $fill0 (param $pages i32)
      (local $at i32) (local $end i32)
      (local.set $at (i32.mul (memory.grow (local.get $pages)) (i32.const 65536)))
      (if (i32.lt_s (local.get $at) (i32.const 0)) (then unreachable))
      (local.set $end (i32.mul (memory.size) (i32.const 65536)))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
          (i32.store8 (local.get $at) (i32.const 1))
          (local.set $at (i32.add (local.get $at) (i32.const 4096)))
          (br $next))))
    ;; 960 pages = 60 MiB in each memory; then ok(healthy) (all zeros).
    (func (export "check") (param i32 i32) (result i32)
      (call $fill0 (i32.const 960))
      (call $fill1 (i32.const 960))
      (call $fill2 (i32.const 960))
      (call $fill3 (i32.const 960))
      (i32.const 1152)))

  (core instance $g1 (instantiate $Grower))
  (core instance $g2 (instantiate $Grower))
  (core instance $g3 (instantiate $Grower))
  (core instance $main (instantiate $Main
    (with "g1" (instance $g1))
    (with "g2" (instance $g2))
    (with "g3" (instance $g3))))

  (type $endpoint' (record (field "host" string) (field "port" u16)))
  (export $endpoint "endpoint" (type $endpoint'))
  (type $probe-info' (record
    (field "source-type" string)
    (field "version" string)
    (field "description" string)
    (field "config-schema" string)))
  (export $probe-info "probe-info" (type $probe-info'))
  (type $healthy' (record (field "details" (option string)) (field "items" (option u64))))
  (export $healthy "healthy" (type $healthy'))
  (type $problem' (record (field "message" string) (field "extra" (option string))))
  (export $problem "problem" (type $problem'))
  (type $check-error' (variant (case "invalid-config" string) (case "unhealthy" $problem)))
  (export $check-error "check-error" (type $check-error'))

  (func $info (result $probe-info)
    (canon lift (core func $main "info") (memory (core memory $main "memory")) (realloc (core func $main "realloc"))))
  (func $endpoints (param "config" string) (result (result (list $endpoint) (error string)))
    (canon lift (core func $main "endpoints") (memory (core memory $main "memory")) (realloc (core func $main "realloc"))))
  (func $check (param "config" string) (result (result $healthy (error $check-error)))
    (canon lift (core func $main "check") (memory (core memory $main "memory")) (realloc (core func $main "realloc"))))

  (instance $probe
    (export "endpoint" (type $endpoint))
    (export "probe-info" (type $probe-info))
    (export "healthy" (type $healthy))
    (export "problem" (type $problem))
    (export "check-error" (type $check-error))
    (export "info" (func $info))
    (export "endpoints" (func $endpoints))
    (export "check" (func $check)))
  (export "sonde:probe/probe@0.1.0" (instance $probe)))
