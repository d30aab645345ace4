//! Positions in compiled SQL mapped back to the model file. minijinja keeps no source map, so
//! the raw template's literal text (between `{{ }}`, `{% %}` and `{# #}` tags) is aligned with
//! the rendered output, in order: a position inside aligned literal text maps exactly; any other
//! position was produced by Jinja and maps to the start of the tag that follows the last aligned
//! literal (the enclosing expression or block). Literal text repeated by a loop aligns with its
//! first rendering only. Pure text work: it must not render anything.

/// Literal text of the template found in the rendered output.
struct Anchor {
    /// Byte offset in the rendered output.
    rendered: usize,
    /// Byte offset in the raw template.
    raw: usize,
    /// Length in bytes.
    length: usize,
}

/// The raw template's position (1-based line, column in characters) of the rendered output's
/// position `line`:`column`.
pub fn locate(raw: &str, rendered: &str, line: usize, column: usize) -> (usize, usize) {
    let offset = offset_of(rendered, line, column);
    let (literals, tags) = segments(raw);
    let mut anchors = Vec::new();
    let mut cursor = 0;
    for (start, end) in literals {
        let text = &raw[start..end];
        let core = text.trim();
        if core.is_empty() {
            continue;
        }
        let core_start = start + (text.len() - text.trim_start().len());
        if let Some(found) = rendered.get(cursor..).and_then(|rest| rest.find(core)) {
            anchors.push(Anchor {
                rendered: cursor + found,
                raw: core_start,
                length: core.len(),
            });
            cursor += found + core.len();
        }
    }
    let before = anchors.iter().rev().find(|anchor| anchor.rendered <= offset);
    let raw_offset = match before {
        Some(anchor) if offset < anchor.rendered + anchor.length => anchor.raw + (offset - anchor.rendered),
        Some(anchor) => {
            let literal_end = anchor.raw + anchor.length;
            match tags.iter().find(|&&tag| tag >= literal_end) {
                Some(&tag) => tag,
                None => (literal_end + (offset - anchor.rendered - anchor.length)).min(raw.len()),
            }
        }
        None => tags.first().copied().unwrap_or(0).min(offset),
    };
    line_column(raw, raw_offset)
}

/// The literal ranges and the tags' start offsets of a template.
fn segments(raw: &str) -> (Vec<(usize, usize)>, Vec<usize>) {
    let mut literals = Vec::new();
    let mut tags = Vec::new();
    let mut position = 0;
    while position < raw.len() {
        let next_tag = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|open| raw[position..].find(open).map(|found| (position + found, *open)))
            .min_by_key(|(found, _)| *found);
        let Some((start, open)) = next_tag else {
            literals.push((position, raw.len()));
            break;
        };
        literals.push((position, start));
        tags.push(start);
        let close = match open {
            "{{" => "}}",
            "{%" => "%}",
            _ => "#}",
        };
        position = raw[start + 2..]
            .find(close)
            .map_or(raw.len(), |end| start + 2 + end + close.len());
    }
    (literals, tags)
}

/// The byte offset of a 1-based line and character column, clamped to the text.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut offset = 0;
    for (index, content) in text.split_inclusive('\n').enumerate() {
        if index + 1 == line {
            let bytes: usize = content
                .chars()
                .take(column.saturating_sub(1))
                .map(char::len_utf8)
                .sum();
            return offset + bytes;
        }
        offset += content.len();
    }
    text.len()
}

/// The 1-based line and character column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::locate;

    const RAW: &str = "{{ config(materialized='table') }}\n\nselect\n    id,\n    {{ cents('amount') }} as cents\nfrom {{ ref('orders') }}\nwhere id >\n";
    const RENDERED: &str =
        "\n\nselect\n    id,\n    amount * 100 as cents\nfrom \"db\".\"main\".\"orders\"\nwhere id >\n";

    #[test]
    fn literal_text_maps_exactly() {
        // `id` on line 4, `as cents` after the macro call, `where` on line 7.
        assert_eq!(locate(RAW, RENDERED, 4, 5), (4, 5));
        assert_eq!(locate(RAW, RENDERED, 5, 18), (5, 27));
        assert_eq!(locate(RAW, RENDERED, 7, 7), (7, 7));
    }

    #[test]
    fn rendered_text_maps_to_its_jinja_tag() {
        // Inside `amount * 100` and inside the rendered relation name.
        assert_eq!(locate(RAW, RENDERED, 5, 12), (5, 5));
        assert_eq!(locate(RAW, RENDERED, 6, 10), (6, 6));
    }

    #[test]
    fn the_end_of_the_output_maps_to_the_end_of_the_file() {
        assert_eq!(locate(RAW, RENDERED, 7, 11), (7, 11));
        assert_eq!(locate("select 1", "select 1", 1, 1), (1, 1));
    }
}
