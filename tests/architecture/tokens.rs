//! Rust source as the architecture checks read it: comments (doc comments included) and the
//! contents of string and character literals removed, then cut into identifiers and punctuation,
//! each with its line. Doc links name modules for the reader, not for the compiler, so only code
//! counts as a dependency.

/// One token: an identifier or keyword, `::`, or a single punctuation character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Ident(String),
    PathSeparator,
    Punct(char),
}

/// The tokens of `source`, each with its 1-based line.
pub fn tokens(source: &str) -> Vec<(Token, usize)> {
    let code = code_only(source);
    let chars: Vec<char> = code.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push((Token::Ident(chars[start..i].iter().collect()), line));
        } else if c == ':' && chars.get(i + 1) == Some(&':') {
            tokens.push((Token::PathSeparator, line));
            i += 2;
        } else {
            tokens.push((Token::Punct(c), line));
            i += 1;
        }
    }
    tokens
}

/// `source` without comments and with every string and character literal emptied; newlines are
/// kept, so lines still count.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied();
    while i < chars.len() {
        let c = chars[i];
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        if c == '/' && at(i + 1) == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i = skip_block_comment(&chars, i, &mut out);
        } else if c == '"' {
            i = skip_string(&chars, i + 1, &mut out);
        } else if starts_word && (c == 'r' || (c == 'b' && at(i + 1) == Some('r'))) {
            match skip_raw_string(&chars, if c == 'b' { i + 1 } else { i }, &mut out) {
                Some(end) => i = end,
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if c == '\'' {
            i = skip_char_literal(&chars, i, &mut out);
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Past the (nested) block comment opening at `start`.
fn skip_block_comment(chars: &[char], start: usize, out: &mut String) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < chars.len() {
        match (chars[i], chars.get(i + 1)) {
            ('/', Some('*')) => {
                depth += 1;
                i += 2;
            }
            ('*', Some('/')) => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            (c, _) => {
                if c == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
        }
    }
    i
}

/// Past the string whose contents start at `start`; writes `""` and the newlines it spanned.
fn skip_string(chars: &[char], start: usize, out: &mut String) -> usize {
    out.push('"');
    let mut i = start;
    while i < chars.len() && chars[i] != '"' {
        if chars[i] == '\n' {
            out.push('\n');
        }
        i += if chars[i] == '\\' { 2 } else { 1 };
    }
    out.push('"');
    i + 1
}

/// Past the raw string `r#"…"#` whose `r` is at `r`; `None` when no raw string starts there.
fn skip_raw_string(chars: &[char], r: usize, out: &mut String) -> Option<usize> {
    let hashes = chars[r + 1..].iter().take_while(|&&c| c == '#').count();
    if chars.get(r + 1 + hashes) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    let mut i = r + 2 + hashes;
    while i < chars.len() && !chars[i..].starts_with(&closing) {
        if chars[i] == '\n' {
            out.push('\n');
        }
        i += 1;
    }
    out.push_str("\"\"");
    Some(i + closing.len())
}

/// Past a character literal at `quote`, or past the quote of a lifetime (`'a`), which is kept.
fn skip_char_literal(chars: &[char], quote: usize, out: &mut String) -> usize {
    match (chars.get(quote + 1), chars.get(quote + 2)) {
        (Some('\\'), _) => {
            let mut i = quote + 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            out.push_str("' '");
            i + 1
        }
        (Some(_), Some('\'')) => {
            out.push_str("' '");
            quote + 3
        }
        _ => {
            out.push('\'');
            quote + 1
        }
    }
}

#[test]
fn comments_and_literals_are_not_code() {
    let source = "use a::b; // use c::d;\n/* use e::f; /* nested */ */ let s = \"crate::x\";\n\
                  let r = r#\"super::y\"#; let c = '\"'; fn f<'a>() {}";
    let idents: Vec<String> = tokens(source)
        .into_iter()
        .filter_map(|(token, _)| match token {
            Token::Ident(name) => Some(name),
            _ => None,
        })
        .collect();
    assert_eq!(
        idents,
        ["use", "a", "b", "let", "s", "let", "r", "let", "c", "fn", "f", "a"]
    );
    assert_eq!(tokens(source).last().map(|(_, line)| *line), Some(3));
}
