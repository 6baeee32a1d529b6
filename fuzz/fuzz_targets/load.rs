//! The YAML loader on arbitrary text: never a panic, never a hang (run with
//! `-timeout=`), and every span it gives lies inside the text on char
//! boundaries.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lifeboat::yaml::{load_str, Node};

fn check_spans(node: &Node, text: &str) {
    node.walk(&mut |n| {
        let (start, end) = (n.span.start.byte(), n.span.end.byte());
        assert!(start <= end && n.span.start.line <= n.span.end.line, "span runs backwards: {:?}", n.span);
        assert!(end <= text.len(), "span past the end: {:?}", n.span);
        assert!(text.is_char_boundary(start) && text.is_char_boundary(end), "span off a char boundary");
    });
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let loaded = load_str(0, &text);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    for doc in &loaded.documents {
        check_spans(&doc.root, text);
    }
});
