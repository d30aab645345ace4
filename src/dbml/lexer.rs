//! The DBML lexer: text → tokens with 1-based line and column, and whether a line break came
//! before each token (DBML ends column definitions, index entries and record rows at line
//! breaks). Comments (`//`, `/* */`) are skipped; strings (`'…'`, `'''…'''`), quoted names
//! (`"…"`), expressions (`` `…` ``), numbers and colours (`#3498DB`) are read whole. It must not
//! know the grammar: `parser` does.

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: a keyword or a name (`Table`, `users`, `not`).
    Word(String),
    /// A double-quoted name (`"order date"`), unquoted.
    Quoted(String),
    /// A single- or triple-quoted string, unescaped.
    Str(String),
    /// A backtick expression, without the backticks.
    Expr(String),
    /// A number as written (`10`, `0.5`).
    Number(String),
    /// A colour (`#3498DB`), with the `#`.
    Color(String),
    /// One punctuation character: `{ } [ ] ( ) , : . < > - ~`.
    Punct(char),
    /// `<>`, the many-to-many relation.
    ManyToMany,
    /// The end of the text.
    Eof,
}

impl Tok {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(word) => format!("`{word}`"),
            Tok::Quoted(name) => format!("`\"{name}\"`"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Expr(_) => "an expression".to_string(),
            Tok::Number(number) => format!("`{number}`"),
            Tok::Color(color) => format!("`{color}`"),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::ManyToMany => "`<>`".to_string(),
            Tok::Eof => "the end of the file".to_string(),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Length in characters (for the caret).
    pub length: usize,
    /// Whether a line break separates it from the previous token.
    pub newline_before: bool,
}

/// A lexing error: message and position.
#[derive(Debug)]
pub struct LexError {
    /// What went wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn error(&self, message: impl Into<String>, line: usize, column: usize) -> LexError {
        LexError {
            message: message.into(),
            line,
            column,
        }
    }

    /// Skip blanks and comments; report whether a line break was crossed.
    fn skip_trivia(&mut self) -> Result<bool, LexError> {
        let mut newline = false;
        loop {
            match self.peek() {
                Some('\n') => {
                    newline = true;
                    self.bump();
                }
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('/') => {
                    let (line, column) = (self.line, self.column);
                    let mut ahead = self.chars.clone();
                    ahead.next();
                    match ahead.next() {
                        Some('/') => {
                            while self.peek().is_some_and(|c| c != '\n') {
                                self.bump();
                            }
                        }
                        Some('*') => {
                            self.bump();
                            self.bump();
                            let mut previous = ' ';
                            loop {
                                match self.bump() {
                                    None => {
                                        return Err(self.error("unterminated `/*` comment", line, column));
                                    }
                                    Some('\n') => {
                                        newline = true;
                                        previous = '\n';
                                    }
                                    Some('/') if previous == '*' => break,
                                    Some(c) => previous = c,
                                }
                            }
                        }
                        _ => return Ok(newline),
                    }
                }
                _ => return Ok(newline),
            }
        }
    }

    /// Read up to the closing `quote`, unescaping `\quote` and `\\`; a backslash before a line
    /// break continues the line.
    fn quoted(&mut self, quote: char, what: &str, line: usize, column: usize) -> Result<String, LexError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(format!("unterminated {what}"), line, column)),
                Some('\n') if quote != '`' => {
                    return Err(self.error(format!("unterminated {what}"), line, column));
                }
                Some(c) if c == quote => return Ok(out),
                Some('\\') => match self.bump() {
                    Some(c) if c == quote || c == '\\' => out.push(c),
                    Some('\n') => {}
                    Some(c) => {
                        out.push('\\');
                        out.push(c);
                    }
                    None => return Err(self.error(format!("unterminated {what}"), line, column)),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// A `'''…'''` string: indentation common to its lines is removed, as DBML does.
    fn triple_quoted(&mut self, line: usize, column: usize) -> Result<String, LexError> {
        let mut raw = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error("unterminated `'''` string", line, column)),
                Some('\\') => match self.bump() {
                    Some('\n') => {}
                    Some(c @ ('\'' | '\\')) => raw.push(c),
                    Some(c) => {
                        raw.push('\\');
                        raw.push(c);
                    }
                    None => return Err(self.error("unterminated `'''` string", line, column)),
                },
                Some('\'') if self.peek() == Some('\'') => {
                    let mut ahead = self.chars.clone();
                    ahead.next();
                    if ahead.next() == Some('\'') {
                        self.bump();
                        self.bump();
                        return Ok(dedent(&raw));
                    }
                    raw.push('\'');
                }
                Some(c) => raw.push(c),
            }
        }
    }
}

/// Remove the indentation common to all non-blank lines, and a leading and trailing blank line.
fn dedent(raw: &str) -> String {
    let lines: Vec<&str> = raw.split('\n').collect();
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut kept: Vec<&str> = lines
        .iter()
        .map(|line| {
            if line.len() >= indent {
                &line[indent..]
            } else {
                line.trim_start()
            }
        })
        .collect();
    if kept.first().is_some_and(|line| line.trim().is_empty()) {
        kept.remove(0);
    }
    if kept.last().is_some_and(|line| line.trim().is_empty()) {
        kept.pop();
    }
    kept.join("\n")
}

/// Split `text` into tokens, ending with [`Tok::Eof`].
pub fn tokenize(text: &str) -> Result<Vec<Token>, LexError> {
    let mut lexer = Lexer {
        chars: text.chars().peekable(),
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    loop {
        let newline_before = lexer.skip_trivia()?;
        let (line, column) = (lexer.line, lexer.column);
        let Some(c) = lexer.bump() else {
            tokens.push(Token {
                tok: Tok::Eof,
                line,
                column,
                length: 1,
                newline_before: true,
            });
            return Ok(tokens);
        };
        let tok = match c {
            '\'' => {
                let mut ahead = lexer.chars.clone();
                if ahead.next() == Some('\'') && ahead.next() == Some('\'') {
                    lexer.bump();
                    lexer.bump();
                    Tok::Str(lexer.triple_quoted(line, column)?)
                } else {
                    Tok::Str(lexer.quoted('\'', "string", line, column)?)
                }
            }
            '"' => Tok::Quoted(lexer.quoted('"', "quoted name", line, column)?),
            '`' => Tok::Expr(lexer.quoted('`', "expression", line, column)?),
            '#' => {
                let mut color = String::from('#');
                while let Some(c) = lexer.peek().filter(char::is_ascii_alphanumeric) {
                    color.push(c);
                    lexer.bump();
                }
                Tok::Color(color)
            }
            '<' if lexer.peek() == Some('>') => {
                lexer.bump();
                Tok::ManyToMany
            }
            '{' | '}' | '[' | ']' | '(' | ')' | ',' | ':' | '.' | '<' | '>' | '-' | '~' => Tok::Punct(c),
            c if c.is_ascii_digit() => {
                let mut word = String::from(c);
                while let Some(c) = lexer
                    .peek()
                    .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                {
                    if c == '.' {
                        let mut ahead = lexer.chars.clone();
                        ahead.next();
                        if !ahead.next().is_some_and(|c| c.is_ascii_digit()) || word.contains('.') {
                            break;
                        }
                    }
                    word.push(c);
                    lexer.bump();
                }
                if word.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    Tok::Number(word)
                } else {
                    Tok::Word(word)
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut word = String::from(c);
                while let Some(c) = lexer.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    word.push(c);
                    lexer.bump();
                }
                Tok::Word(word)
            }
            other => return Err(lexer.error(format!("unexpected character `{other}`"), line, column)),
        };
        let length = if lexer.line == line {
            lexer.column - column
        } else {
            1
        };
        tokens.push(Token {
            tok,
            line,
            column,
            length,
            newline_before,
        });
    }
}
