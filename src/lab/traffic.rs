//! Traffic for the lab, run inside the VM's namespaces (`lvstop lab-traffic`):
//! a small HTTP server for the realservers that keeps connections open while
//! the client wants (so draining has something to wait for), and a client
//! that sends a steady but varying request rate, optional long-lived
//! connections, and an optional UDP packet stream (the overload scenario).
//! Only the lab's documentation addresses are ever used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::Semaphore;

/// What the client sends.
#[derive(Debug, Clone, Default)]
pub struct ClientPlan {
    /// HTTP services to send short requests to (spread evenly).
    pub http: Vec<SocketAddr>,
    /// Mean requests per second over all of `http`.
    pub rate: f64,
    /// Long-lived connections: (service, how many).
    pub hold: Option<(SocketAddr, usize)>,
    /// UDP datagrams: (service, packets per second).
    pub udp: Option<(SocketAddr, f64)>,
}

/// The name the server answers with (the realserver's namespace name).
fn host_name() -> String {
    std::env::var("LAB_NAME").unwrap_or_else(|_| "realserver".into())
}

/// Serve HTTP/1.1 on every port of `ports` (all addresses): each request gets
/// the host's name; a connection stays open until the client closes it. UDP
/// datagrams to `udp_ports` are received and dropped.
pub async fn serve(ports: &[u16], udp_ports: &[u16]) -> std::io::Result<()> {
    let body: Arc<str> = Arc::from(format!("{}\n", host_name()));
    let mut tasks = Vec::new();
    for port in udp_ports {
        let sock = UdpSocket::bind(("::", *port)).await?;
        tasks.push(tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            loop {
                let _ = sock.recv_from(&mut buf).await;
            }
        }));
    }
    for port in ports {
        let listener = TcpListener::bind(("::", *port)).await?;
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors, say: wait rather than spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                tokio::spawn(answer(stream, body.clone()));
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn answer(stream: TcpStream, body: Arc<str>) {
    let (rd, mut wr) = stream.into_split();
    let mut lines = BufReader::new(rd).lines();
    let mut in_header = false;
    while let Ok(Some(line)) = lines.next_line().await {
        if line.starts_with("GET ") || line.starts_with("HEAD ") {
            in_header = true;
        } else if line.is_empty() && in_header {
            in_header = false;
            let reply =
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            if wr.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
    }
}

/// The request rate at `t` seconds: `mean` varied by ±50% over a two-minute
/// wave, so the console's sparklines and rates have something to show.
pub fn rate_at(mean: f64, t: f64) -> f64 {
    (mean * (1.0 + 0.5 * (t * std::f64::consts::TAU / 120.0).sin())).max(0.0)
}

/// One short request: connect, GET, read the answer, close. Gives up after 3 s
/// (a dead realserver never answers).
async fn one_request(to: SocketAddr) {
    let go = async {
        let mut s = TcpStream::connect(to).await?;
        s.write_all(b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n").await?;
        let mut buf = [0u8; 512];
        // The server keeps the connection; the client closes once the body is in.
        let _ = s.read(&mut buf).await?;
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(3), go).await;
}

/// One long-lived connection: a request every 5 s, for 1 to 5 minutes, then
/// a new connection (so a drained realserver empties over a few minutes).
async fn hold_one(to: SocketAddr) {
    loop {
        let life = Duration::from_secs(60 + fastrand::u64(0..240));
        let start = Instant::now();
        if let Ok(Ok(mut s)) = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(to)).await {
            let mut buf = [0u8; 512];
            while start.elapsed() < life {
                let sent = s.write_all(b"GET /hold HTTP/1.1\r\nHost: lab\r\n\r\n").await;
                let got = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await;
                if sent.is_err() || !matches!(got, Ok(Ok(n)) if n > 0) {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(500 + fastrand::u64(0..1000))).await;
    }
}

/// Send UDP datagrams to `to` at `pps`, in 10 ms batches.
async fn udp_stream(to: SocketAddr, pps: f64) -> std::io::Result<()> {
    let bind: SocketAddr = if to.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let sock = UdpSocket::bind(bind).await?;
    let start = Instant::now();
    let mut sent = 0f64;
    let payload = [0x5au8; 32];
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tick.tick().await;
        let due = start.elapsed().as_secs_f64() * pps;
        while sent < due {
            // A full socket buffer drops the datagram, as a busy NIC would.
            let _ = sock.send_to(&payload, to).await;
            sent += 1.0;
        }
    }
}

/// Run the client plan until killed.
pub async fn client(plan: ClientPlan) {
    if let Some((to, n)) = plan.hold {
        for _ in 0..n {
            tokio::spawn(hold_one(to));
        }
    }
    if let Some((to, pps)) = plan.udp {
        tokio::spawn(async move {
            if let Err(e) = udp_stream(to, pps).await {
                crate::say!("lab-traffic: UDP to {to}: {e}");
            }
        });
    }
    if plan.http.is_empty() || plan.rate <= 0.0 {
        std::future::pending::<()>().await;
        return;
    }
    let inflight = Arc::new(Semaphore::new(256));
    let start = Instant::now();
    let mut next = 0usize;
    loop {
        let rate = rate_at(plan.rate, start.elapsed().as_secs_f64()).max(0.1);
        // Poisson arrivals: exponential gaps around the current rate.
        let gap = -(1.0 - fastrand::f64()).ln() / rate;
        tokio::time::sleep(Duration::from_secs_f64(gap.min(10.0))).await;
        let to = plan.http[next % plan.http.len()];
        next += 1;
        if let Ok(permit) = inflight.clone().try_acquire_owned() {
            tokio::spawn(async move {
                one_request(to).await;
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_varies_around_its_mean() {
        assert!((rate_at(10.0, 0.0) - 10.0).abs() < 1e-9);
        assert!((rate_at(10.0, 30.0) - 15.0).abs() < 1e-9);
        assert!((rate_at(10.0, 90.0) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn the_server_answers_and_keeps_the_connection() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            tokio::spawn(async move {
                let (s, _) = listener.accept().await.expect("accept");
                answer(s, Arc::from("rs9\n")).await;
            });
            let mut s = TcpStream::connect(addr).await.expect("connect");
            let mut buf = vec![0u8; 256];
            for _ in 0..2 {
                s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
                let n = s.read(&mut buf).await.expect("read");
                let text = String::from_utf8_lossy(&buf[..n]);
                assert!(text.starts_with("HTTP/1.1 200 OK") && text.ends_with("rs9\n"), "{text}");
            }
        });
    }
}
