//! stub
mod ext;
mod hash;
mod okvs;
mod ot;
pub mod params;
mod transpose;
