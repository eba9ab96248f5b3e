//! The words of a `sh` command line, as far as they can be known without
//! running it: quotes removed, operators and redirections understood, each
//! word marked as read (an argument, or the file after `<`), written (the
//! file after `>`), or unknowable (it holds an expansion or a wildcard).
//! For the dependency scan of rendered commands (issue 10, item 1).

/// What a word is to the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// An argument (a command name, an option, a file it may read).
    Arg,
    /// The file after `<` or `<>`: read.
    Input,
    /// The file after `>`, `>>`, `>|`, `&>`, `>&`: written.
    Output,
}

/// A word of the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word {
    /// Its text with quotes and escapes removed.
    pub(crate) text: String,
    /// What it is to the command.
    pub(crate) role: Role,
}

/// The words of `script` whose text is known (no unquoted `*?[`, no `$`,
/// no backquote), with their roles. Here-document bodies, here-strings,
/// comments, fd numbers (`2>`) and fd duplications (`2>&1`) are left out.
pub(crate) fn words(script: &str) -> Vec<Word> {
    Lexer {
        chars: script.chars().collect(),
        at: 0,
        inner: Vec::new(),
    }
    .run()
}

/// What comes after a redirection operator.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Next {
    /// A word in its own right.
    Word,
    /// The target of a redirection with this role.
    Target(Role),
    /// A word to leave out (a here-string).
    Skip,
    /// A here-document's delimiter; its body starts at the next line.
    Heredoc,
}

struct Lexer {
    chars: Vec<char>,
    at: usize,
    /// Words of commands substituted inside double quotes (`"$(cat f)"`).
    inner: Vec<Word>,
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn run(mut self) -> Vec<Word> {
        let mut out = Vec::new();
        let mut next = Next::Word;
        // Delimiters of here-documents whose bodies start at the next line.
        let mut heredocs: Vec<String> = Vec::new();
        while let Some(c) = self.peek(0) {
            match c {
                '\n' => {
                    self.at += 1;
                    for delimiter in std::mem::take(&mut heredocs) {
                        self.skip_heredoc(&delimiter);
                    }
                    next = Next::Word;
                }
                c if c.is_whitespace() => self.at += 1,
                '#' => {
                    while self.peek(0).is_some_and(|c| c != '\n') {
                        self.at += 1;
                    }
                }
                ';' | '&' | '|' | '(' | ')' | '`' if !(c == '&' && self.peek(1) == Some('>')) => {
                    self.at += 1;
                    next = Next::Word;
                }
                '<' | '>' | '&' => next = self.redirection(),
                '$' if self.peek(1) == Some('(') => {
                    // `$(`: a command of its own follows.
                    self.at += 2;
                    next = Next::Word;
                }
                _ => {
                    let (text, known) = self.word();
                    // `2>`: the digits are a file descriptor.
                    if text.chars().all(|c| c.is_ascii_digit())
                        && known
                        && matches!(self.peek(0), Some('<' | '>'))
                    {
                        continue;
                    }
                    match next {
                        Next::Heredoc => heredocs.push(text),
                        Next::Target(role) if known => out.push(Word { text, role }),
                        Next::Word if known => out.push(Word {
                            text,
                            role: Role::Arg,
                        }),
                        _ => {}
                    }
                    next = Next::Word;
                }
            }
        }
        out.append(&mut self.inner);
        out
    }

    /// Reads a redirection operator; says what its target is.
    fn redirection(&mut self) -> Next {
        let rest: String = self.chars[self.at..].iter().take(3).collect();
        for (op, next) in [
            ("<<<", Next::Skip),
            ("<<-", Next::Heredoc),
            ("&>>", Next::Target(Role::Output)),
            ("<<", Next::Heredoc),
            ("<>", Next::Target(Role::Input)),
            (">>", Next::Target(Role::Output)),
            (">|", Next::Target(Role::Output)),
            ("&>", Next::Target(Role::Output)),
            ("<&", Next::Skip),
            (">&", Next::Target(Role::Output)),
            ("<", Next::Target(Role::Input)),
            (">", Next::Target(Role::Output)),
        ] {
            if rest.starts_with(op) {
                self.at += op.chars().count();
                // `>&2`, `<&0`: a file descriptor, not a file.
                if op.ends_with('&') {
                    let mut n = 0;
                    while self.peek(n).is_some_and(|c| c.is_ascii_digit()) {
                        n += 1;
                    }
                    let after = self.peek(n);
                    if (n > 0 || after == Some('-'))
                        && after.is_none_or(|c| c == '-' || c.is_whitespace() || ";&|)".contains(c))
                    {
                        self.at += n + usize::from(after == Some('-'));
                        return Next::Word;
                    }
                }
                return next;
            }
        }
        self.at += 1;
        Next::Word
    }

    /// Reads one word; returns its text and whether that text is known
    /// (nothing in it expands when the shell runs it).
    fn word(&mut self) -> (String, bool) {
        let mut text = String::new();
        let mut known = true;
        while let Some(c) = self.peek(0) {
            match c {
                c if c.is_whitespace() => break,
                ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`' => break,
                '\\' => {
                    if let Some(next) = self.peek(1) {
                        if next != '\n' {
                            text.push(next);
                        }
                        self.at += 2;
                    } else {
                        self.at += 1;
                    }
                }
                '\'' => {
                    self.at += 1;
                    while let Some(c) = self.peek(0) {
                        self.at += 1;
                        if c == '\'' {
                            break;
                        }
                        text.push(c);
                    }
                }
                '"' => {
                    self.at += 1;
                    while let Some(c) = self.peek(0) {
                        self.at += 1;
                        match c {
                            '"' => break,
                            '\\' if self.peek(0).is_some_and(|n| "$`\"\\\n".contains(n)) => {
                                let n = self.peek(0).expect("checked");
                                if n != '\n' {
                                    text.push(n);
                                }
                                self.at += 1;
                            }
                            '$' if self.peek(0) == Some('(') => {
                                // `"$(cmd)"`: cmd's words are words too.
                                known = false;
                                self.at += 1;
                                let inner = self.until_close(')');
                                self.inner.extend(words(&inner));
                            }
                            '`' => {
                                known = false;
                                let inner = self.until_close('`');
                                self.inner.extend(words(&inner));
                            }
                            '$' => {
                                known = false;
                                text.push(c);
                            }
                            c => text.push(c),
                        }
                    }
                }
                '$' | '*' | '?' | '[' | '~' => {
                    known = false;
                    text.push(c);
                    self.at += 1;
                }
                c => {
                    text.push(c);
                    self.at += 1;
                }
            }
        }
        let known = known && !text.is_empty();
        (text, known)
    }

    /// The text up to the `close` that ends a substitution (`)` counting
    /// nested parentheses, or a backquote), skipping quoted parts; the
    /// position moves past it.
    fn until_close(&mut self, close: char) -> String {
        let start = self.at;
        let mut depth = 1;
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            self.at += 1;
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') if close == ')' => quote = Some(c),
                (None, '(') if close == ')' => depth += 1,
                (None, c) if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        return self.chars[start..self.at - 1].iter().collect();
                    }
                }
                _ => {}
            }
        }
        self.chars[start..self.at].iter().collect()
    }

    /// Skips a here-document's body, up to the line that is its delimiter.
    fn skip_heredoc(&mut self, delimiter: &str) {
        loop {
            let start = self.at;
            while self.peek(0).is_some_and(|c| c != '\n') {
                self.at += 1;
            }
            let line: String = self.chars[start..self.at].iter().collect();
            if self.peek(0).is_some() {
                self.at += 1;
            }
            if line.trim_start_matches('\t') == delimiter || self.peek(0).is_none() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(script: &str) -> Vec<String> {
        words(script)
            .into_iter()
            .map(|w| match w.role {
                Role::Arg => w.text,
                Role::Input => format!("<{}", w.text),
                Role::Output => format!(">{}", w.text),
            })
            .collect()
    }

    #[test]
    fn quotes_operators_and_redirections() {
        assert_eq!(shown("sh 'scripts/s.sh' x"), ["sh", "scripts/s.sh", "x"]);
        assert_eq!(shown("(sh scripts/s.sh)"), ["sh", "scripts/s.sh"]);
        assert_eq!(
            shown("cat < lookup.txt > out/x.txt"),
            ["cat", "<lookup.txt", ">out/x.txt"]
        );
        assert_eq!(shown("cat<in>out"), ["cat", "<in", ">out"]);
        assert_eq!(
            shown("a.sh 2>err.log >>log 2>&1 &> both; b 1>&2"),
            ["a.sh", ">err.log", ">log", ">both", "b"]
        );
        assert_eq!(shown("x && y || z | w"), ["x", "y", "z", "w"]);
        assert_eq!(
            shown("echo \"a b\"\\ c 'd'\"e\"\\ f"),
            ["echo", "a b c", "de f"]
        );
        assert_eq!(
            shown("cmd $(cat list.txt) `x`"),
            ["cmd", "cat", "list.txt", "x"]
        );
        assert_eq!(shown("sort <> rw.txt"), ["sort", "<rw.txt"]);
        assert_eq!(
            shown("sh -c \"$(cat s.sh)\" \"`cat t.sh`\" \"$(f \"(x)\" < in)\""),
            ["sh", "-c", "cat", "s.sh", "cat", "t.sh", "f", "(x)", "<in"]
        );
    }

    #[test]
    fn unknowable_words_are_left_out() {
        assert_eq!(shown("cat $f \"$g\" *.csv ~/x a?b"), ["cat"]);
        assert_eq!(shown("echo x # cat secret.txt"), ["echo", "x"]);
        assert_eq!(shown("tr a b <<< word.txt"), ["tr", "a", "b"]);
        assert_eq!(
            shown("cat <<EOF > out.txt\nlookup.txt\nEOF\nwc x.txt"),
            ["cat", ">out.txt", "wc", "x.txt"]
        );
        assert_eq!(shown("f 'unterminated"), ["f", "unterminated"]);
    }
}
