"""A Sonde probe in Python: a TCP connect to `host:port`.

Built with componentize-py against the contract in ../../wit:

    componentize-py -d ../../wit/probe.wit -w plugin componentize app -o pytcp.wasm
    sonde check --plugin pytcp.wasm --config '{"host": "127.0.0.1", "port": 5432}'

The sandbox is the same as for a Rust probe: Python's `socket` module goes
through wasi:sockets, so the host resolves `host`, and only the endpoints
this probe declares can be reached.
"""

import json
import socket

# socket.getaddrinfo encodes host names with this codec; componentize-py only
# bundles what is imported, so import it here.
import encodings.idna  # noqa: F401
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

SCHEMA = json.dumps(
    {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "host": {"type": "string", "minLength": 1, "description": "Host name or IP address"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
            "timeout_s": {"type": "number", "exclusiveMinimum": 0, "default": 5},
        },
        "required": ["host", "port"],
        "additionalProperties": False,
    }
)


def problem(message, extra):
    return Err(types.CheckError_Unhealthy(types.Problem(message=message, extra=extra)))


class Probe(exports.Probe):
    def info(self):
        return types.ProbeInfo(
            source_type="pytcp",
            version="0.1.0",
            description="A TCP connection opens (a probe written in Python)",
            config_schema=SCHEMA,
        )

    def endpoints(self, config):
        c = json.loads(config)
        return [types.Endpoint(host=c["host"], port=c["port"])]

    def check(self, config):
        c = json.loads(config)
        try:
            with socket.create_connection((c["host"], c["port"]), timeout=c.get("timeout_s", 5)):
                pass
        except ConnectionRefusedError as e:
            raise problem("connection refused", str(e))
        except TimeoutError as e:
            raise problem("timed out", str(e))
        except OSError as e:
            raise problem("unreachable", str(e))
        return types.Healthy(details=json.dumps({"language": "python"}), items=None)
