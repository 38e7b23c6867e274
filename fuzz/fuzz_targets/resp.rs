//! The one RESP codec (resp/codec.rs): any bytes decode to a reply or an
//! error and split into commands or an error, never a panic or a stall; a
//! decoded reply encodes to bytes that decode to the same reply; and a
//! command written by `command` splits back into its own arguments.
#![no_main]
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use stratus::live::resp::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some((v, used))) = codec::decode(data) {
        assert!(used <= data.len());
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(codec::decode(&out), Ok(Some((v, out.len()))), "round trip");
    }
    // A pipeline: each complete command is taken off the front.
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_)) = codec::split_command(&mut buf) {}
    // Arguments (split at NUL bytes) written as a command and split back.
    let args: Vec<&[u8]> = data.split(|&b| b == 0).collect();
    let mut out = Vec::new();
    codec::command(&mut out, &args);
    let mut frame = BytesMut::from(&out[..]);
    let back = codec::split_command(&mut frame).expect("our own frame parses");
    let back = back.expect("our own frame is complete");
    assert_eq!(back, args, "command round trip");
    assert!(frame.is_empty(), "the frame is used up");
});
