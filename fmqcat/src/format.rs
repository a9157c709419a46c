//! How a received message is printed: one line per message (`raw` aside), frames separated
//! by one space.

use clap::ValueEnum;

/// `--format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The frame bytes only, back to back: no separator, no newline.
    Raw,
    /// Printable bytes as they are, any other as `.`.
    Ascii,
    /// Each frame double-quoted, with C escapes (`\n`, `\r`, `\t`, `\"`, `\\`, `\xHH`).
    Quoted,
    /// Each frame in lowercase hex.
    Hex,
}

fn printable(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

/// Appends `frames` to `out` as `format` prints them.
pub fn render(format: Format, frames: &[&[u8]], out: &mut Vec<u8>) {
    for (i, f) in frames.iter().enumerate() {
        if i > 0 && format != Format::Raw {
            out.push(b' ');
        }
        match format {
            Format::Raw => out.extend_from_slice(f),
            Format::Ascii => out.extend(f.iter().map(|&b| if printable(b) { b } else { b'.' })),
            Format::Hex => {
                for b in f.iter() {
                    out.extend_from_slice(format!("{b:02x}").as_bytes());
                }
            }
            Format::Quoted => {
                out.push(b'"');
                for &b in f.iter() {
                    match b {
                        b'\n' => out.extend_from_slice(b"\\n"),
                        b'\r' => out.extend_from_slice(b"\\r"),
                        b'\t' => out.extend_from_slice(b"\\t"),
                        b'"' => out.extend_from_slice(b"\\\""),
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b if printable(b) => out.push(b),
                        b => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
                    }
                }
                out.push(b'"');
            }
        }
    }
    if format != Format::Raw {
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(format: Format, frames: &[&[u8]]) -> String {
        let mut out = Vec::new();
        render(format, frames, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoted_escapes_as_c_does_with_lowercase_hex() {
        let frames: &[&[u8]] = &[b"a\"b\\c", b"\n\r\t", b"", b"\x00\x7f\xff ~"];
        assert_eq!(
            show(Format::Quoted, frames),
            "\"a\\\"b\\\\c\" \"\\n\\r\\t\" \"\" \"\\x00\\x7f\\xff ~\"\n"
        );
    }

    #[test]
    fn ascii_and_hex_print_an_empty_frame_as_nothing() {
        let frames: &[&[u8]] = &[b"hi\x01", b"", b"Z"];
        assert_eq!(show(Format::Ascii, frames), "hi.  Z\n");
        assert_eq!(show(Format::Hex, frames), "686901  5a\n");
    }

    #[test]
    fn raw_is_the_bytes_back_to_back() {
        assert_eq!(show(Format::Raw, &[b"ab", b"", b"c\n"]), "abc\n");
    }
}
