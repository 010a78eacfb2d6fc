//! Numbers on the Webots wire, read and written the way the Python originals do: `float(body)` to
//! read a simulation server's `/load`, and `str(float)` (`60.0`, `12.5`) for every number the
//! simulation and session servers write (`/load`, monitor pages, messages, announcements).
//!
//! Simulation servers in the field are the Python original (`str(float)`, e.g. `12.5`), ours, and
//! ad-hoc scripts; the original reads them all with `float()`, so a stricter parser would ignore
//! working servers. Rust's `str::parse::<f64>` differs in both directions (it rejects surrounding
//! whitespace and `1_000`, and accepts `infinity` spelt differently), hence this module.

/// Parses `text` exactly as Python 3's `float(str)` does: surrounding whitespace is ignored; a
/// sign, then `inf`/`infinity`/`nan` in any case, or a decimal number with an optional fraction and
/// exponent, where single underscores may separate digits (PEP 515). `None` where Python raises.
/// The one difference: Python also takes non-ASCII decimal digits (`"١٢"`), which no server sends.
pub fn parse(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let (sign, unsigned) = match trimmed.as_bytes().first() {
        Some(b'-') => (-1.0, &trimmed[1..]),
        Some(b'+') => (1.0, &trimmed[1..]),
        _ => (1.0, trimmed),
    };
    let lower = unsigned.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "infinity" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let digits = decimal_without_underscores(unsigned)?;
    digits.parse::<f64>().ok().map(|value| sign * value)
}

/// Checks the decimal grammar (`digits [. digits] [e [sign] digits]`, or `.digits`, or `digits.`)
/// with PEP 515 underscores, and returns the text with the underscores removed.
fn decimal_without_underscores(text: &str) -> Option<String> {
    let (mantissa, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (integer, fraction) = match mantissa.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (mantissa, None),
    };
    let integer_ok = digit_part(integer, true);
    let fraction_ok = fraction.is_none_or(|f| digit_part(f, true));
    let has_digits = !integer.is_empty() || fraction.is_some_and(|f| !f.is_empty());
    if !(integer_ok && fraction_ok && has_digits) {
        return None;
    }
    if let Some(exponent) = exponent {
        let unsigned = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        if !digit_part(unsigned, false) {
            return None;
        }
    }
    Some(text.replace('_', ""))
}

/// `digit (["_"] digit)*`, or the empty string where `may_be_empty`.
fn digit_part(text: &str, may_be_empty: bool) -> bool {
    if text.is_empty() {
        return may_be_empty;
    }
    let bytes = text.as_bytes();
    let ends_with_digits = bytes[0].is_ascii_digit() && bytes[bytes.len() - 1].is_ascii_digit();
    ends_with_digits
        && bytes.iter().all(|b| b.is_ascii_digit() || *b == b'_')
        && !text.contains("__")
}

/// Formats `value` as Python 3's `str(float)`: `12.0` (never `12`), `0.1`, `1e+16`, `1.5e-05`,
/// `inf`, `nan`. Python switches to exponent notation below 1e-4 and from 1e16 on.
pub fn format(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let magnitude = value.abs();
    if magnitude != 0.0 && !(1e-4..1e16).contains(&magnitude) {
        // Rust writes `1.5e-5`; Python pads the exponent to two digits and always signs it.
        let rust = format!("{value:e}");
        let (mantissa, exponent) = rust.split_once('e').unwrap_or((&rust, "0"));
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    if value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        format!("{value}")
    }
}

/// A number from a config file as Python's `json.load` keeps it, an `int` (`50`) or a `float`
/// (`50.0`), so that it is written back as the original wrote it with `str()`: the default
/// `shareIdleTime` is announced as `50`, not `50.0`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum JsonNumber {
    Int(i64),
    Float(f64),
}

impl<'de> serde::Deserialize<'de> for JsonNumber {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        Ok(match (number.as_i64(), number.as_f64()) {
            (Some(value), _) => Self::Int(value),
            (None, Some(value)) => Self::Float(value),
            (None, None) => {
                return Err(serde::de::Error::custom(format!(
                    "{number} is out of range"
                )))
            }
        })
    }
}

impl JsonNumber {
    pub fn value(self) -> f64 {
        match self {
            // Exact for every value a percentage or a count in a config file takes.
            #[allow(clippy::cast_precision_loss)]
            Self::Int(value) => value as f64,
            Self::Float(value) => value,
        }
    }
}

impl std::fmt::Display for JsonNumber {
    /// Python's `str()` of the number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Int(value) => write!(f, "{value}"),
            Self::Float(value) => f.write_str(&format(*value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_numbers_keep_their_python_type() {
        let read = |text: &str| serde_json::from_str::<JsonNumber>(text).unwrap();
        assert_eq!(read("50").to_string(), "50");
        assert_eq!(read("50.0").to_string(), "50.0");
        assert_eq!(read("12.5").to_string(), "12.5");
        assert_eq!(read("1e2").to_string(), "100.0");
        assert_eq!(read("-3").value(), -3.0);
        assert_eq!(serde_json::to_string(&read("50")).unwrap(), "50");
        assert_eq!(serde_json::to_string(&read("50.0")).unwrap(), "50.0");
        let text = serde_json::from_str::<JsonNumber>("\"50\"")
            .unwrap_err()
            .to_string();
        assert!(text.contains("expected a JSON number"), "{text}");
    }

    #[test]
    fn accepts_what_python_float_accepts() {
        let cases: &[(&str, f64)] = &[
            ("12", 12.0),
            (" 12.5\n", 12.5),
            ("\t-3.25 \r\n", -3.25),
            ("1e2", 100.0),
            ("1E+2", 100.0),
            ("2.5e-1", 0.25),
            (".5", 0.5),
            ("5.", 5.0),
            ("+7", 7.0),
            ("1_000.000_1", 1000.0001),
            ("1_0e1_0", 1e11),
            ("007", 7.0),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Some(*expected), "{text:?}");
        }
        assert_eq!(parse("inf"), Some(f64::INFINITY));
        assert_eq!(parse(" -Infinity "), Some(f64::NEG_INFINITY));
        assert_eq!(parse("INF"), Some(f64::INFINITY));
        assert!(parse("nan").is_some_and(f64::is_nan));
        assert!(parse("-NaN\n").is_some_and(f64::is_nan));
    }

    #[test]
    fn rejects_what_python_float_rejects() {
        for text in [
            "", " ", ".", "e5", "1e", "1e+", "_1", "1_", "1__0", "1._5", "1_.5", "1e_5", "0x10",
            "12%", "1 2", "--1", "+-1", "infinit", "nan1", "1.2.3", "12,5", "∞",
        ] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn formats_like_python_str() {
        let cases: &[(f64, &str)] = &[
            (12.0, "12.0"),
            (0.0, "0.0"),
            (-1.0, "-1.0"),
            (12.5, "12.5"),
            (0.1, "0.1"),
            (33.333333333333336, "33.333333333333336"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (1234.5e20, "1.2345e+23"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ];
        for (value, expected) in cases {
            assert_eq!(format(*value), *expected, "{value}");
        }
    }
}
