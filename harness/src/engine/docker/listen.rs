//! A local service's listening sockets, read from `/proc`: no traffic at all.

/// The TCP ports process `pid`'s network namespace listens on, from `/proc`; `None` when they
/// cannot be read (another machine's engine, or the process is gone).
pub(super) fn listening(pid: u32) -> Option<Vec<u16>> {
    let mut open = Vec::new();
    let mut read_any = false;
    for file in ["tcp", "tcp6"] {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{file}")) {
            read_any = true;
            open.extend(listening_ports(&text));
        }
    }
    read_any.then_some(open)
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
