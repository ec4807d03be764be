//! The stream type both ends of a TCP session run over once TLS is done (or skipped).

use tokio::io::{AsyncRead, AsyncWrite};

/// Any stream a session can run over, TLS or not.
pub(super) trait SessionStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> SessionStream for T {}

pub(super) type BoxedStream = Box<dyn SessionStream>;
