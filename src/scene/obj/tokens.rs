//! The C string functions tinyobjloader reads lines with (`strspn`, `strcspn`, `atoi`, Drake's
//! `strtod_l` float parsing), over a byte line that ends at its first NUL as a C string would.
//! Reproducing them keeps the odd cases tinyobjloader's way: a coordinate that does not parse is
//! its default (0), `atoi` skips leading white space (so `f 1/ 2/` reads the 2 as a texture
//! index), a missing token reads as nothing.

/// A position in one line.
#[derive(Debug, Clone, Copy)]
pub struct Cursor<'l> {
    line: &'l [u8],
    at: usize,
}

/// `IS_SPACE`: what separates tokens.
pub fn is_space(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

impl<'l> Cursor<'l> {
    /// The line up to its first NUL.
    pub fn new(line: &'l [u8]) -> Self {
        let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
        Self {
            line: &line[..end],
            at: 0,
        }
    }

    pub fn rest(&self) -> &'l [u8] {
        &self.line[self.at..]
    }

    /// The byte at `offset` from here, NUL past the end.
    pub fn peek(&self, offset: usize) -> u8 {
        self.line.get(self.at + offset).copied().unwrap_or(0)
    }

    pub fn advance(&mut self, count: usize) {
        self.at = (self.at + count).min(self.line.len());
    }

    /// `IS_NEW_LINE(token[0])`: nothing left to read on this line.
    pub fn at_end(&self) -> bool {
        matches!(self.peek(0), 0 | b'\r' | b'\n')
    }

    /// `token += strspn(token, set)`.
    pub fn skip_any(&mut self, set: &[u8]) {
        while self.at < self.line.len() && set.contains(&self.line[self.at]) {
            self.at += 1;
        }
    }

    /// `token += strcspn(token, set)`, returning what was skipped.
    pub fn take_until(&mut self, set: &[u8]) -> &'l [u8] {
        let start = self.at;
        while self.at < self.line.len() && !set.contains(&self.line[self.at]) {
            self.at += 1;
        }
        &self.line[start..self.at]
    }

    /// `parseString`: the next token (up to a space, tab or CR).
    pub fn string(&mut self) -> String {
        self.skip_any(b" \t");
        String::from_utf8_lossy(self.take_until(b" \t\r")).into_owned()
    }

    /// `parseReal` with its default: the next token's value, or `default` when it is not a
    /// finite number.
    pub fn real(&mut self, default: f64) -> f64 {
        self.real_if_any().unwrap_or(default)
    }

    /// `parseReal(token, &out)`: the next token's value, if it has one.
    pub fn real_if_any(&mut self) -> Option<f64> {
        self.skip_any(b" \t");
        parse_double(self.take_until(b" \t\r"))
    }

    /// `atoi(token)`, without moving.
    pub fn atoi(&self) -> i32 {
        atoi(self.rest())
    }
}

/// Drake's `tryParseDouble` (`strtod_l` in the C locale): the longest decimal prefix, refused
/// when empty or not finite. Hexadecimal floats are not read (their `0` prefix is).
pub fn parse_double(token: &[u8]) -> Option<f64> {
    let mut end = 0;
    if matches!(token.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let digits = |from: usize| {
        token[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let whole = digits(end);
    end += whole;
    let mut fraction = 0;
    if token.get(end) == Some(&b'.') {
        fraction = digits(end + 1);
        if whole + fraction > 0 {
            end += 1 + fraction;
        }
    }
    if whole + fraction == 0 {
        return None;
    }
    if matches!(token.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(token.get(end + 1), Some(b'+' | b'-')));
        let exponent = digits(end + 1 + sign);
        if exponent > 0 {
            end += 1 + sign + exponent;
        }
    }
    let text = std::str::from_utf8(&token[..end]).ok()?;
    text.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// glibc's `atoi`: `(int) strtol(s, NULL, 10)`: leading white space, a sign, digits; a value
/// past `long` saturates there, and the cast to `int` keeps the low 32 bits.
pub fn atoi(text: &[u8]) -> i32 {
    let mut bytes = text
        .iter()
        .skip_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))
        .peekable();
    let negative = match bytes.peek() {
        Some(b'-') => {
            bytes.next();
            true
        }
        Some(b'+') => {
            bytes.next();
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    for digit in bytes.take_while(|b| b.is_ascii_digit()) {
        let digit = i64::from(digit - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
    }
    value as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_take_the_longest_decimal_prefix() {
        assert_eq!(parse_double(b"1.5"), Some(1.5));
        assert_eq!(parse_double(b"-2e3x"), Some(-2000.0));
        assert_eq!(parse_double(b"1e"), Some(1.0));
        assert_eq!(parse_double(b".5"), Some(0.5));
        assert_eq!(parse_double(b"5."), Some(5.0));
        assert_eq!(parse_double(b"abc"), None);
        assert_eq!(parse_double(b"."), None);
        assert_eq!(parse_double(b"1e999"), None);
        assert_eq!(parse_double(b""), None);
    }

    #[test]
    fn atoi_is_glibcs() {
        assert_eq!(atoi(b" 12/3"), 12);
        assert_eq!(atoi(b"-7"), -7);
        assert_eq!(atoi(b"x"), 0);
        assert_eq!(atoi(b"4294967297"), 1);
        assert_eq!(atoi(b"99999999999999999999999"), -1);
    }

    #[test]
    fn a_cursor_stops_at_nul_and_reads_tokens() {
        let mut cursor = Cursor::new(b"  1.5 abc\t2\0 9");
        assert_eq!(cursor.real(0.0), 1.5);
        assert_eq!(cursor.real(7.0), 7.0);
        assert_eq!(cursor.real_if_any(), Some(2.0));
        assert!(cursor.at_end());
        assert_eq!(cursor.real_if_any(), None);
    }
}
