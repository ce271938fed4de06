//! The few SFTP v3 packets the probe sends and reads
//! (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks): INIT and
//! VERSION, REALPATH and NAME, STAT and ATTRS, OPENDIR, CLOSE, HANDLE and
//! STATUS. No crate offers an SFTP client without its own transport, and
//! these are length-prefixed records of a handful of fields.

pub const FXP_INIT: u8 = 1;
pub const FXP_VERSION: u8 = 2;
pub const FXP_OPENDIR: u8 = 11;
pub const FXP_CLOSE: u8 = 4;
pub const FXP_REALPATH: u8 = 16;
pub const FXP_STAT: u8 = 17;
pub const FXP_STATUS: u8 = 101;
pub const FXP_HANDLE: u8 = 102;
pub const FXP_NAME: u8 = 104;
pub const FXP_ATTRS: u8 = 105;

pub const FX_NO_SUCH_FILE: u32 = 2;
pub const FX_PERMISSION_DENIED: u32 = 3;

/// The largest reply the probe takes; a NAME of one entry is far smaller.
pub const MAX_PACKET: usize = 256 * 1024;

/// A request: type, then the fields. `id` is left out for INIT.
pub fn request(kind: u8, id: Option<u32>, strings: &[&[u8]]) -> Vec<u8> {
    let mut body = vec![kind];
    match id {
        Some(id) => body.extend_from_slice(&id.to_be_bytes()),
        // INIT carries the version the client speaks instead.
        None => body.extend_from_slice(&3u32.to_be_bytes()),
    }
    for s in strings {
        body.extend_from_slice(&(s.len() as u32).to_be_bytes());
        body.extend_from_slice(s);
    }
    let mut packet = (body.len() as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    packet
}

/// The length of the first whole packet in `buf`, if there is one.
pub fn complete(buf: &[u8]) -> Result<Option<usize>, String> {
    let Some(len) = buf.get(..4) else { return Ok(None) };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len == 0 || len > MAX_PACKET {
        return Err(format!("an SFTP packet of {len} bytes"));
    }
    Ok((buf.len() >= 4 + len).then_some(4 + len))
}

/// A reply's fields, read in order.
pub struct Reader<'a> {
    pub kind: u8,
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// The packet without its length (as [`complete`] measured it).
    pub fn new(packet: &'a [u8]) -> Result<Self, String> {
        match packet.get(4..) {
            Some([kind, rest @ ..]) => Ok(Self { kind: *kind, rest }),
            _ => Err("an empty SFTP packet".into()),
        }
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        let (head, rest) = self.rest.split_at_checked(4).ok_or("a short SFTP packet")?;
        self.rest = rest;
        Ok(u32::from_be_bytes([head[0], head[1], head[2], head[3]]))
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        Ok((u64::from(self.u32()?) << 32) | u64::from(self.u32()?))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        let (head, rest) = self.rest.split_at_checked(len).ok_or("a short SFTP packet")?;
        self.rest = rest;
        Ok(head)
    }

    pub fn string(&mut self) -> Result<String, String> {
        Ok(String::from_utf8_lossy(self.bytes()?).into_owned())
    }

    /// ATTRS (§5): only what is present is read.
    pub fn attrs(&mut self) -> Result<Attrs, String> {
        let flags = self.u32()?;
        let mut attrs = Attrs::default();
        if flags & 0x1 != 0 {
            attrs.size = Some(self.u64()?);
        }
        if flags & 0x2 != 0 {
            self.u32()?;
            self.u32()?;
        }
        if flags & 0x4 != 0 {
            attrs.permissions = Some(self.u32()?);
        }
        if flags & 0x8 != 0 {
            self.u32()?;
            attrs.mtime = Some(self.u32()?);
        }
        if flags & 0x8000_0000 != 0 {
            for _ in 0..self.u32()? {
                self.bytes()?;
                self.bytes()?;
            }
        }
        Ok(attrs)
    }
}

/// The attributes the probe reports.
#[derive(Debug, Default, PartialEq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub permissions: Option<u32>,
    pub mtime: Option<u32>,
}

impl Attrs {
    /// "directory", "file", "symlink" or "other", from the POSIX type bits.
    pub fn kind(&self) -> Option<&'static str> {
        self.permissions.map(|p| match p & 0o170000 {
            0o040000 => "directory",
            0o100000 => "file",
            0o120000 => "symlink",
            _ => "other",
        })
    }
}

/// A STATUS reply's code and message.
pub fn status(r: &mut Reader) -> Result<(u32, String), String> {
    let code = r.u32()?;
    // Version 3 servers may leave the message out.
    let message = r.string().unwrap_or_default();
    Ok((code, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_length_prefixed() {
        assert_eq!(request(FXP_INIT, None, &[]), vec![0, 0, 0, 5, 1, 0, 0, 0, 3]);
        assert_eq!(
            request(FXP_REALPATH, Some(7), &[b"."]),
            vec![0, 0, 0, 10, 16, 0, 0, 0, 7, 0, 0, 0, 1, b'.']
        );
    }

    #[test]
    fn replies_are_read_in_order() {
        let name = [
            &[0, 0, 0, 0, FXP_NAME][..],
            &1u32.to_be_bytes(),
            &1u32.to_be_bytes(),
            &[0, 0, 0, 4],
            b"/tmp",
            &[0, 0, 0, 0],
            &5u32.to_be_bytes(),
            &9u64.to_be_bytes(),
            &0o040755u32.to_be_bytes(),
        ]
        .concat();
        let mut packet = name.clone();
        packet[..4].copy_from_slice(&((name.len() - 4) as u32).to_be_bytes());
        assert_eq!(complete(&packet[..6]), Ok(None));
        assert_eq!(complete(&packet), Ok(Some(packet.len())));
        let mut r = Reader::new(&packet).expect("packet");
        assert_eq!((r.kind, r.u32(), r.u32()), (FXP_NAME, Ok(1), Ok(1)));
        assert_eq!(r.string().as_deref(), Ok("/tmp"));
        assert_eq!(r.string().as_deref(), Ok(""));
        let attrs = r.attrs().expect("attrs");
        assert_eq!((attrs.size, attrs.kind()), (Some(9), Some("directory")));
        assert!(r.u32().is_err());
        assert!(complete(&[0, 0, 0, 0]).is_err());
    }
}
