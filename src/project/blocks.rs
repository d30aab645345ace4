//! Finding `{% keyword name %} ... {% endkeyword %}` blocks in a file's text: docs blocks in
//! Markdown files and snapshot blocks in SQL files. Text only, with byte ranges so callers can
//! point errors at the tags; it knows nothing else of Jinja.

use std::ops::Range;

use super::yaml::Pos;

/// One `{% keyword name %} body {% endkeyword %}` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The name after the keyword.
    pub name: String,
    /// Byte range of the opening tag, `{%` to `%}` inclusive.
    pub open: Range<usize>,
    /// Byte range of the text between the two tags.
    pub body: Range<usize>,
    /// Byte range of the closing tag.
    pub close: Range<usize>,
}

/// A block problem: the opening tag has no closing tag, or no name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockError {
    /// What is wrong, for the user.
    pub message: String,
    /// Byte offset of the offending tag.
    pub offset: usize,
}

/// Every `keyword` block of `text`, in order; blocks do not nest.
pub fn find_blocks(text: &str, keyword: &str) -> Result<Vec<Block>, BlockError> {
    let end_keyword = format!("end{keyword}");
    let mut blocks = Vec::new();
    let mut open: Option<(String, Range<usize>)> = None;
    for (range, inner) in tags(text) {
        if inner == end_keyword {
            let Some((name, open_range)) = open.take() else {
                return Err(BlockError {
                    message: format!("`{{% {end_keyword} %}}` without an opening `{{% {keyword} %}}`"),
                    offset: range.start,
                });
            };
            blocks.push(Block {
                name,
                body: open_range.end..range.start,
                open: open_range,
                close: range,
            });
            continue;
        }
        let Some(rest) = inner.strip_prefix(keyword) else {
            continue;
        };
        if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
            continue;
        }
        if let Some((name, _)) = &open {
            return Err(BlockError {
                message: format!("`{keyword} {name}` is not closed before the next `{keyword}` block"),
                offset: range.start,
            });
        }
        let name = rest.trim();
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(BlockError {
                message: format!("a `{keyword}` block needs a name made of letters, digits and `_`"),
                offset: range.start,
            });
        }
        open = Some((name.to_string(), range));
    }
    match open {
        Some((name, range)) => Err(BlockError {
            message: format!("`{keyword} {name}` has no `{{% {end_keyword} %}}`"),
            offset: range.start,
        }),
        None => Ok(blocks),
    }
}

/// The `{% .. %}` tags of `text`: byte range and the inner text without `-` and spaces.
fn tags(text: &str) -> impl Iterator<Item = (Range<usize>, &str)> {
    let mut position = 0;
    std::iter::from_fn(move || {
        let start = position + text.get(position..)?.find("{%")?;
        let inner_start = start + 2;
        let Some(length) = text[inner_start..].find("%}") else {
            position = text.len();
            return None;
        };
        let end = inner_start + length + 2;
        position = end;
        let inner =
            text[inner_start..inner_start + length].trim_matches(|c: char| c == '-' || c.is_whitespace());
        Some((start..end, inner))
    })
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
pub fn position(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    Pos {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_with_whitespace_control_and_positions() {
        let text = "{% docs a %}\nOne\n{% enddocs %}\n\n{%- docs b -%}Two{%- enddocs -%}";
        let blocks = find_blocks(text, "docs").expect("valid");
        let names: Vec<&str> = blocks.iter().map(|block| block.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(&text[blocks[0].body.clone()], "\nOne\n");
        assert_eq!(&text[blocks[1].body.clone()], "Two");
        let second = position(text, blocks[1].open.start);
        assert_eq!((second.line, second.column), (5, 1));
    }

    #[test]
    fn other_tags_inside_a_block_are_kept_in_its_body() {
        let text = "{% snapshot s %}{{ config(unique_key='id') }}{% if x %}a{% endif %}{% endsnapshot %}";
        let blocks = find_blocks(text, "snapshot").expect("valid");
        assert_eq!(blocks.len(), 1);
        assert!(text[blocks[0].body.clone()].ends_with("{% endif %}"));
        assert!(
            find_blocks("{% snapshots_x %}", "snapshot")
                .expect("valid")
                .is_empty()
        );
    }

    #[test]
    fn unclosed_nameless_and_stray_end_tags_are_errors() {
        let unclosed = find_blocks("select 1\n{% snapshot s %}\nselect 2", "snapshot").expect_err("an error");
        assert_eq!(unclosed.offset, 9);
        assert!(unclosed.message.contains("has no `{% endsnapshot %}`"));
        assert!(find_blocks("{% snapshot %}{% endsnapshot %}", "snapshot").is_err());
        assert!(find_blocks("{% endsnapshot %}", "snapshot").is_err());
        assert!(find_blocks("{% snapshot a %}{% snapshot b %}{% endsnapshot %}", "snapshot").is_err());
    }
}
