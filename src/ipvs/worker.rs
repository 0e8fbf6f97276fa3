//! A dedicated thread that owns the IPVS backend. Async callers send it jobs
//! and await the answer, so netlink never blocks an event loop.

use std::sync::mpsc;
use std::thread;

use tokio::sync::oneshot;

use super::{Backend, IpvsError};

type Job = Box<dyn FnOnce(&mut Backend) + Send>;

/// A cloneable handle to the IPVS worker thread.
#[derive(Clone)]
pub struct IpvsHandle {
    tx: mpsc::Sender<Job>,
}

impl IpvsHandle {
    /// Start the worker; it opens the backend on its own thread. With
    /// `read_only` the backend has no write path at all.
    pub fn spawn(read_only: bool) -> Result<(Self, Option<String>), IpvsError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        thread::Builder::new()
            .name("lvstop-ipvs".into())
            .spawn(move || {
                let mut backend = match Backend::open() {
                    Ok(b) => {
                        let b = if read_only { b.into_read_only() } else { b };
                        let _ = ready_tx.send(Ok(b.read_only_reason()));
                        b
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut backend);
                }
            })
            .map_err(|e| IpvsError::Socket { op: "start the IPVS worker".into(), msg: e.to_string() })?;
        let reason = ready_rx.recv().map_err(|_| IpvsError::WorkerGone)??;
        Ok((IpvsHandle { tx }, reason))
    }

    /// Run `f` on the worker thread; the result is awaited. The job is
    /// handed to the worker at once, not when the future is first polled (a
    /// task spawned on the console's thread runs only once that thread
    /// waits: the first table read would wait for the console's start-up).
    pub fn run<T, F>(&self, f: F) -> impl std::future::Future<Output = Result<T, IpvsError>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&mut Backend) -> Result<T, IpvsError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let sent = self
            .tx
            .send(Box::new(move |b: &mut Backend| {
                let _ = tx.send(f(b));
            }))
            .map_err(|_| IpvsError::WorkerGone);
        async move {
            sent?;
            rx.await.map_err(|_| IpvsError::WorkerGone)?
        }
    }
}
