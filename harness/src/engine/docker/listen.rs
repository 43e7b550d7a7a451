//! A local service's listening sockets, read from `/proc`: no traffic at all.

use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};

/// The TCP ports process `pid`'s network namespace listens on, from `/proc`; `None` when they
/// cannot be read (another machine's engine, or the process is gone). The second table (IPv4,
/// IPv6) is read only when the first is not `enough`: each read makes the kernel walk every
/// TCP socket of the machine. A table is not read at all while the namespace's counters
/// (`sockstat`, `sockstat6`) say it holds no socket: a server that has not listened yet costs
/// a few microseconds, not a walk.
pub(super) fn listening(pid: u32, enough: &dyn Fn(&[u16]) -> bool) -> Option<Vec<u16>> {
    // The table that had the ports last time is read first: servers of one suite tend to
    // listen alike (IPv4 only, or IPv6 with IPv4 mapped).
    let v6_first = SIX_FIRST.load(Ordering::Relaxed);
    let order = if v6_first {
        ["tcp6", "tcp"]
    } else {
        ["tcp", "tcp6"]
    };
    let mut open = Vec::new();
    let mut read_any = false;
    for file in order {
        if sockets_in_use(pid, file) == Some(0) {
            read_any = true;
        } else if let Some(text) = read_table(&format!("/proc/{pid}/net/{file}")) {
            read_any = true;
            open.extend(listening_ports(&text));
        }
        if read_any && enough(&open) {
            SIX_FIRST.store(file == "tcp6", Ordering::Relaxed);
            break;
        }
    }
    read_any.then_some(open)
}

/// How many TCP sockets (listening or connected) table `file` (`tcp`, `tcp6`) of process
/// `pid`'s network namespace holds, from the namespace's counters, which the kernel keeps
/// without a walk; `None` when they cannot be read. A socket counts once it listens or
/// connects, not when it is made or bound.
fn sockets_in_use(pid: u32, file: &str) -> Option<u64> {
    let (counters, row) = match file {
        "tcp6" => ("sockstat6", "TCP6:"),
        _ => ("sockstat", "TCP:"),
    };
    let text = std::fs::read_to_string(format!("/proc/{pid}/net/{counters}")).ok()?;
    in_use(&text, row)
}

/// The `inuse` count of row `row` (`TCP:`, `TCP6:`) of a `/proc/net/sockstat{,6}` text.
fn in_use(text: &str, row: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(row))?;
    let mut fields = line[row.len()..].split_whitespace();
    while let Some(name) = fields.next() {
        let value = fields.next()?;
        if name == "inuse" {
            return value.parse().ok();
        }
    }
    None
}

/// Whether process `pid` runs (is neither gone nor a zombie), from `/proc/<pid>/stat`;
/// `None` when `/proc` cannot be read at all.
pub(super) fn alive(pid: u32) -> Option<bool> {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (comm) S ...`: the state follows the last `)`.
        Ok(stat) => Some(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| !matches!(state, "Z" | "X" | "x")),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::path::Path::new("/proc/self/stat")
                .exists()
                .then_some(false)
        }
        Err(_) => None,
    }
}

/// The IPv6 table had the ports last time.
static SIX_FIRST: AtomicBool = AtomicBool::new(false);

/// A `/proc` table in as few reads as it takes: the kernel makes the whole table for every
/// `read`, about half a millisecond each here, so the usual way (a small first read, a growing
/// buffer, a last read for the end) costs several times that.
fn read_table(path: &str) -> Option<String> {
    const CHUNK: usize = 64 * 1024;
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; CHUNK];
    let mut len = 0;
    loop {
        let n = file.read(&mut buf[len..]).ok()?;
        len += n;
        // A read that did not fill the buffer returned the rest of the table.
        if n == 0 || len < buf.len() {
            break;
        }
        buf.resize(buf.len() + CHUNK, 0);
    }
    buf.truncate(len);
    String::from_utf8(buf).ok()
}

/// The local ports of the sockets in state LISTEN (`0A`) of a `/proc/net/tcp{,6}` table.
fn listening_ports(table: &str) -> impl Iterator<Item = u16> + '_ {
    table.lines().skip(1).filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (Some(local), Some(_remote), Some(state)) =
            (fields.nth(1), fields.next(), fields.next())
        else {
            return None;
        };
        if state != "0A" {
            return None;
        }
        u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proc_table_whole() {
        let text = read_table("/proc/self/net/tcp").expect("this machine has /proc");
        assert!(text.starts_with("  sl"), "{text}");
        assert_eq!(read_table("/proc/self/net/no-such-table"), None);
    }

    #[test]
    fn processes_alive_or_gone() {
        assert_eq!(alive(std::process::id()), Some(true));
        assert_eq!(alive(u32::MAX), Some(false));
    }

    #[test]
    fn sockstat_counters() {
        let v4 = "sockets: used 7\nTCP: inuse 2 orphan 0 tw 0 alloc 4 mem 1\nUDP: inuse 0 mem 0\n";
        assert_eq!(in_use(v4, "TCP:"), Some(2));
        let v6 = "TCP6: inuse 0\nUDP6: inuse 1\n";
        assert_eq!(in_use(v6, "TCP6:"), Some(0));
        assert_eq!(in_use(v6, "TCP:"), None, "no such row");
        assert_eq!(in_use("TCP: orphan 0", "TCP:"), None);
        let pid = std::process::id();
        assert!(
            sockets_in_use(pid, "tcp").is_some(),
            "this machine has /proc"
        );
        assert!(sockets_in_use(u32::MAX, "tcp").is_none(), "no such process");
    }

    #[test]
    fn proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 1 1 0 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0
   2: 0100007F:D2F0 0100007F:18EB 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   garbage
";
        assert_eq!(listening_ports(table).collect::<Vec<_>>(), [6379, 8080]);
        let v6 = "header\n   0: 00000000000000000000000000000000:0CEA 00000000000000000000000000000000:0000 0A 0 0 0 0 0 0 0\n";
        assert_eq!(listening_ports(v6).collect::<Vec<_>>(), [3306]);
    }
}
