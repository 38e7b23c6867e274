//! The balancer's reader of a node's answer (client.rs, through
//! `client::answer_from`, the code a pooled connection reads with): any
//! bytes are an answer or an error, never a panic, and an answer's body is
//! within the client's limit.
#![no_main]
use hyper::Method;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use stratus::live::client;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    runtime().block_on(async {
        for method in [Method::GET, Method::HEAD, Method::POST] {
            if let Ok(a) = client::answer_from(data, &method).await {
                assert!(a.response.body().len() <= client::MAX_BODY);
                if method == Method::HEAD {
                    assert!(a.response.body().is_empty(), "a HEAD answer has no body");
                }
            }
        }
    });
});
