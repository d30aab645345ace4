// tmk docs: dbt's selection syntax (`--select` / `--exclude`) over the site's nodes. A port of
// tmk's own selector so the page answers what `tmk ls -s ... --exclude ...` answers:
// src/graph/criterion.rs (a term's grammar and its messages), matching.rs (one node against
// one method) and selector.rs (space = union, comma = intersection, exclusion, and dbt's
// default "eager" selection of the tests of selected nodes). The site adds `result:`, read
// from the last run's results it embeds. No DOM: data in, node indices and messages out.
(function () {
  "use strict";

  // ---- Errors and hints --------------------------------------------------------------------
  // A selector that cannot be read or cannot be answered here: what is wrong (names in
  // backticks), how to fix it, and the 1-based char column in the input.
  class SelectorError extends Error {
    constructor(message, hint, column) {
      super(message);
      this.hint = hint || "";
      this.column = column;
    }
  }

  // Levenshtein distance over chars.
  function editDistance(left, right) {
    const b = Array.from(right);
    let previous = b.map((_, j) => j).concat(b.length);
    Array.from(left).forEach((a, i) => {
      const current = [i + 1];
      b.forEach((c, j) => current.push(Math.min(previous[j] + (a === c ? 0 : 1), previous[j + 1] + 1, current[j] + 1)));
      previous = current;
    });
    return previous[b.length];
  }

  // The candidate nearest to `wanted`, if near enough to be a typo (or `wanted` starts it).
  function closest(wanted, candidates) {
    const tolerance = Math.max(Math.floor(Array.from(wanted).length / 3), 2);
    const bytes = new TextEncoder().encode(wanted).length;
    let best = null, bestDistance = Infinity;
    for (const candidate of candidates) {
      const distance = editDistance(wanted, candidate);
      const plausible = distance <= tolerance || (bytes >= 3 && candidate.startsWith(wanted));
      if (plausible && distance < bestDistance) { best = candidate; bestDistance = distance; }
    }
    return best;
  }

  // "did you mean `x`?" when one candidate is close to `wanted`, then the full list.
  function suggestionHint(wanted, candidates, label) {
    const list = candidates.map((candidate) => "`" + candidate + "`").join(", ");
    const best = closest(wanted, candidates);
    return best ? `did you mean \`${best}\`? ${label}: ${list}` : `${label}: ${list}`;
  }

  // ---- Vocabulary (as in criterion.rs) -----------------------------------------------------
  // Every method tmk evaluates; `result` is answered here from the embedded run results.
  const KEYWORDS = ["fqn", "tag", "path", "file", "package", "config", "resource_type", "source", "test_type",
    "test_name", "group", "access", "exposure", "metric", "semantic_model", "saved_query", "unit_test"];
  // Kinds of node tmk never has: their methods match nothing (plural for the message).
  const ABSENT = { exposure: "exposures", metric: "metrics", semantic_model: "semantic models", saved_query: "saved queries", unit_test: "unit tests" };
  // Methods that need artifacts of another run, which the site does not hold: why, per method.
  const ELSEWHERE = {
    state: "it compares the project with the artifacts of another run (dbt's `--state DIR`), and this site holds one run's artifacts only",
    source_status: "it compares source freshness (sources.json) of two runs, and this site holds neither",
  };
  const METHOD_NAMES = KEYWORDS.concat(["state", "result", "source_status", "version"]);
  const RESOURCE_TYPES = ["model", "analysis", "test", "snapshot", "operation", "seed", "rpc", "sql_operation", "doc",
    "source", "macro", "exposure", "metric", "group", "saved_query", "semantic_model", "unit_test", "fixture", "function"];
  // dbt's node statuses in run_results.json that a selector can spell (no spaces).
  const STATUSES = ["success", "error", "fail", "warn", "pass", "skipped", "no-op"];
  const TEST_KINDS = { generic: "generic", schema: "generic", singular: "singular", data: "data", unit: "unit" };
  const MAX_DEPTH = 18446744073709551615n; // usize::MAX, as the CLI parses depths

  const isDigit = (c) => c >= "0" && c <= "9";
  const isWhitespace = (c) => /^\p{White_Space}$/u.test(c);
  // Characters that cannot be part of a selector value.
  const isStray = (c) => isWhitespace(c) || /^\p{Cc}$/u.test(c) || "+@:,()\"'`;|<>{}\\".includes(c);
  // How to fix a stray character, when there is something useful to say.
  function strayHint(c) {
    if (c === "+") return "graph operators go at the start (`+m`, `2+m`) or the end (`m+`, `m+2`) of a term";
    if (c === "@") return "`@` goes first, as in `@m`";
    if (c === ":") return "a term has at most one `method:` prefix, made of letters, digits, `_` and `.`";
    if ("\"'`".includes(c)) return "quotes belong to the shell; this one reached tmk inside the selector";
    return "";
  }

  // ---- One term: [@][N+]method:value[+N] ----------------------------------------------------
  // Parse `term`, which starts at char `offset` of `argument`, into a criterion:
  // {at, parents, children (depths: a number, Infinity, or null when absent), method, keys,
  // value, text}. `context.statuses`: the last run's statuses.
  function parseTerm(term, offset, context) {
    const chars = Array.from(term);
    const slice = (start, end) => chars.slice(start, end).join("");
    const fail = (index, message, hint) => { throw new SelectorError(message, hint, offset + index + 1); };
    const digitsEnd = (start) => { let end = start; while (end < chars.length && isDigit(chars[end])) end++; return end; };
    // Generations to follow: the digits between start and end, or every generation.
    const depth = (start, end) => {
      if (start === end) return Infinity;
      const digits = slice(start, end);
      if (BigInt(digits) > MAX_DEPTH) fail(start, `depth \`${digits}\` in \`${term}\` is too large`, "leave the number out to follow every generation");
      return Number(digits);
    };
    const at = chars[0] === "@";
    // A leading `[N]+`.
    let parents = null, bodyStart = at ? 1 : 0;
    const leadEnd = digitsEnd(bodyStart);
    if (chars[leadEnd] === "+") {
      parents = depth(bodyStart, leadEnd);
      bodyStart = leadEnd + 1;
      if (chars[bodyStart] === "+") fail(bodyStart, `unexpected \`+\` in \`${term}\`: a term takes at most one leading \`+\``, "write `+m` for all ancestors or `N+m` for N generations");
    }
    // A trailing `+[N]`.
    let children = null, bodyEnd = chars.length;
    let digitsStart = chars.length;
    while (digitsStart > bodyStart && isDigit(chars[digitsStart - 1])) digitsStart--;
    if (digitsStart !== bodyStart && chars[digitsStart - 1] === "+") {
      bodyEnd = digitsStart - 1;
      children = depth(digitsStart, chars.length);
      if (bodyEnd > bodyStart && chars[bodyEnd - 1] === "+") fail(bodyEnd, `unexpected \`+\` in \`${term}\`: a term takes at most one trailing \`+\``, "write `m+` for all descendants or `m+N` for N generations");
    }
    if (at && parents !== null) fail(1, `\`@\` cannot be combined with a leading \`+\` in \`${term}\``, "`@m` already selects every ancestor of m and of its descendants; drop the `+`");
    if (at && children !== null) fail(bodyEnd, `\`@\` cannot be combined with a trailing \`+\` in \`${term}\``, "`@m` already selects every descendant of m; drop the `+`");
    const spec = methodSpec(chars.slice(bodyStart, bodyEnd), bodyStart, term, fail);
    const valueStart = spec ? spec.valueStart : bodyStart;
    if (valueStart === bodyEnd) {
      fail(valueStart, spec ? `missing value after \`${spec.text}:\` in \`${term}\`` : `missing node name in \`${term}\``, "");
    }
    for (let index = valueStart; index < bodyEnd; index++) {
      if (isStray(chars[index])) fail(index, `unexpected character \`${chars[index]}\` in \`${term}\``, strayHint(chars[index]));
    }
    const value = slice(valueStart, bodyEnd);
    const method = spec ? spec.keyword : defaultMethod(value);
    const criterion = { at, parents, children, method, keys: spec ? spec.keys : [], value, text: term };
    if (spec) checkValue(criterion, valueStart, context, fail);
    return criterion;
  }

  // The `method[.key...]:` prefix of a term's body, if it has one: {keyword, keys, text,
  // valueStart}. `start` is the body's index in the term.
  function methodSpec(body, start, term, fail) {
    const colon = body.indexOf(":");
    if (colon < 0) return null;
    const written = body.slice(0, colon).join("");
    if (!written) fail(start + colon, `missing selector method before \`:\` in \`${term}\``, "write `method:value`, e.g. `tag:nightly`");
    // Not a method: the value check reports the first stray character.
    if (!/^[\p{Alphabetic}\p{N}_.]+$/u.test(written)) return null;
    const dot = written.indexOf(".");
    const name = dot < 0 ? written : written.slice(0, dot);
    checkKeyword(name, start, term, fail);
    const keysAt = start + Array.from(name).length;
    let keys = [];
    const configHint = "write `config.<key>:<value>`, e.g. `config.materialized:table`";
    if (name === "config" && dot < 0) fail(keysAt, `missing config key in \`${term}\``, configHint);
    if (name === "config") {
      keys = written.slice(dot + 1).split(".");
      if (keys.some((key) => !key)) fail(keysAt, `empty config key in \`${term}\``, configHint);
    } else if (dot >= 0) {
      fail(keysAt, `selector method \`${name}\` in \`${term}\` takes no \`.\` argument`, `write \`${name}:<value>\``);
    }
    return { keyword: name, keys, text: written, valueStart: start + colon + 1 };
  }

  // A method name the site can answer; anything else is an error saying why, or which
  // method was meant.
  function checkKeyword(name, index, term, fail) {
    if (KEYWORDS.includes(name) || name === "result") return;
    if (Object.hasOwn(ELSEWHERE, name)) {
      fail(index, `selector method \`${name}\` in \`${term}\` is not available in the docs site: ${ELSEWHERE[name]}`,
        "`result:` selects by the last run's status here (e.g. `result:error+`); or select by name, tag, path or config");
    }
    if (name === "version") fail(index, `selector method \`version\` in \`${term}\` is not supported: tmk has no model versions`, "select the model by name instead");
    fail(index, `unknown selector method \`${name}\` in \`${term}\``, suggestionHint(name, METHOD_NAMES, "valid methods"));
  }

  // Check values that have a fixed set, and interpret `source:` and `test_type:`.
  function checkValue(criterion, index, context, fail) {
    const { method, value, text } = criterion;
    if (method === "resource_type" && !RESOURCE_TYPES.includes(value)) {
      fail(index, `unknown resource type \`${value}\` in \`${text}\``, suggestionHint(value, RESOURCE_TYPES, "valid resource types"));
    }
    if (method === "source") {
      const parts = value.split(".");
      if (parts.length > 3) {
        fail(index, `source selector \`${value}\` in \`${text}\` has too many \`.\` parts`, "write `source:<source>`, `source:<source>.<table>` or `source:<package>.<source>.<table>`");
      }
      const [pkg, source, table] = parts.length === 3 ? parts : ["*", parts[0], parts[1] === undefined ? "*" : parts[1]];
      criterion.source = { pkg, source, table };
    }
    if (method === "test_type") {
      if (!Object.hasOwn(TEST_KINDS, value)) fail(index, `unknown test type \`${value}\` in \`${text}\``, "expected `generic`, `singular`, `unit` or `data`");
      criterion.testKind = TEST_KINDS[value];
    }
    if (method === "result") {
      if (!context.statuses.size) {
        fail(index, `\`${text}\` needs the last run's results, and this site has none (no target/run_results.json when it was generated)`,
          "run `tmk build` (or run, test, seed), then `tmk docs generate` again");
      }
      if (!STATUSES.includes(value)) fail(index, `unknown result status \`${value}\` in \`${text}\``, suggestionHint(value, STATUSES, "statuses"));
    }
  }

  // dbt's method for a bare value: `path` if it has a `/`, `file` if it ends in a model or
  // seed extension, `fqn` otherwise.
  function defaultMethod(value) {
    if (value.includes("/")) return "path";
    return /\.(sql|py|csv)$/.test(value.toLowerCase()) ? "file" : "fqn";
  }

  // `text` split at every separator char, each piece with its char offset (from `base`);
  // empty pieces are kept.
  function pieces(text, base, isSeparator) {
    const found = [];
    let piece = "", start = base;
    Array.from(text).forEach((c, index) => {
      if (isSeparator(c)) { found.push([start, piece]); piece = ""; start = base + index + 1; } else piece += c;
    });
    found.push([start, piece]);
    return found;
  }

  // A whole argument: whitespace-separated words (a union) of `,`-joined terms (an
  // intersection each).
  function parseSelection(argument, context) {
    return pieces(argument, 0, isWhitespace).filter(([, word]) => word).map(([offset, word]) => {
      const parts = pieces(word, offset, (c) => c === ",");
      return parts.map(([partOffset, part], index) => {
        if (part) return parseTerm(part, partOffset, context);
        throw new SelectorError(`empty selector term in \`${word}\`: \`,\` must join two terms`, "remove the extra `,`",
          index === parts.length - 1 ? partOffset : partOffset + 1);
      });
    });
  }

  // ---- Globs: Python's fnmatch.fnmatchcase, as matching.rs --------------------------------
  // Tokens: a literal char, "?" (any char), "*" (any run), or a class {negated, ranges}.
  // An unclosed `[` is a literal; case-sensitive; `*` crosses `.` and `/`.
  function compileGlob(pattern) {
    const chars = Array.from(pattern);
    const tokens = [];
    for (let index = 0; index < chars.length; index++) {
      let token = chars[index];
      if (token === "*") token = { run: true };
      else if (token === "?") token = { any: true };
      else if (token === "[") {
        const found = compileClass(chars, index);
        if (found) { token = found.token; index = found.end; }
      }
      const last = tokens[tokens.length - 1];
      if (!(token.run && last && last.run)) tokens.push(token);
    }
    return { pattern, tokens, plain: tokens.every((token) => typeof token === "string") };
  }

  // The class opening at chars[open] and the index of its `]`; null when it never closes.
  // A `]` right after `[` or `[!` is literal.
  function compileClass(chars, open) {
    let index = open + 1;
    const negated = chars[index] === "!";
    if (negated) index++;
    const first = index;
    const ranges = [];
    while (index < chars.length) {
      const c = chars[index];
      if (c === "]" && index > first) return { token: { negated, ranges }, end: index };
      const high = chars[index + 2];
      if (chars[index + 1] === "-" && high !== undefined && high !== "]") { ranges.push([c, high]); index += 3; } else { ranges.push([c, c]); index++; }
    }
    return null;
  }

  // Whether one token accepts char `c`.
  function accepts(token, c) {
    if (typeof token === "string") return token === c;
    if (token.any) return true;
    if (token.run) return false;
    const point = c.codePointAt(0);
    return token.ranges.some(([low, high]) => low.codePointAt(0) <= point && point <= high.codePointAt(0)) !== token.negated;
  }

  // Whether a compiled glob matches `text` (backtracking over the last `*`, as matching.rs).
  function globMatches(glob, text) {
    if (glob.plain) return glob.pattern === text;
    const tokens = glob.tokens;
    const chars = Array.from(text);
    let tokenIndex = 0, textIndex = 0, lastRun = null;
    while (textIndex < chars.length) {
      const token = tokens[tokenIndex];
      if (token && token.run) { lastRun = [tokenIndex, textIndex]; tokenIndex++; }
      else if (token !== undefined && accepts(token, chars[textIndex])) { tokenIndex++; textIndex++; }
      else if (lastRun) { lastRun = [lastRun[0], lastRun[1] + 1]; tokenIndex = lastRun[0] + 1; textIndex = lastRun[1]; }
      else return false;
    }
    return tokens.slice(tokenIndex).every((token) => token.run);
  }
  // Whether `pattern` matches `text`; each pattern is compiled once.
  const compiled = new Map();
  function glob(pattern, text) {
    if (!compiled.has(pattern)) compiled.set(pattern, compileGlob(pattern));
    return globMatches(compiled.get(pattern), text);
  }

  // ---- One node against one method (matching.rs) --------------------------------------------
  // dbt's fqn method: the node's name, or a dotted prefix of its fqn, with or without the
  // package in front.
  function fqnMatches(selector, fqn) {
    return fqnSelects(fqn, selector) || fqnSelects(fqn.slice(1), selector);
  }
  // dbt's `is_selected_node` for unversioned nodes.
  function fqnSelects(fqn, selector) {
    if (!fqn.length) return false;
    const leaf = fqn[fqn.length - 1];
    if (leaf === selector) return true;
    const flat = fqn.flatMap((segment) => segment.split("."));
    const parts = selector.split(".");
    if (flat.length < parts.length) return false;
    for (let index = 0; index < parts.length; index++) {
      if (/[*?[\]]/.test(parts[index])) {
        // The wildcard part globs the rest of the fqn; a bare wildcard may glob the name.
        return glob(parts.slice(index).join("."), flat.slice(index).join(".")) || (!selector.includes(".") && glob(selector, leaf));
      }
      if (flat[index] !== parts[index]) return false;
    }
    return true;
  }
  // Leading `./` and trailing `/` ignored; `.` is the project root ("").
  function normalizePath(path) {
    let out = path.replace(/\/+$/, "");
    while (out.startsWith("./")) out = out.slice(2);
    return out === "." ? "" : out;
  }
  // dbt's path method: the node's file, or any folder above it, matches the glob.
  function pathMatches(selector, path) {
    const wanted = normalizePath(selector);
    if (!wanted) return true;
    const pattern = wanted.split("/");
    const segments = normalizePath(path).split("/");
    for (let length = 1; length <= segments.length; length++) if (segmentsMatch(pattern, segments.slice(0, length))) return true;
    return false;
  }
  // pathlib-style: `**` spans any number of folders, other segments glob one name.
  function segmentsMatch(pattern, segments) {
    if (!pattern.length) return !segments.length;
    const [first, ...rest] = pattern;
    if (first === "**") {
      for (let skip = 0; skip <= segments.length; skip++) if (segmentsMatch(rest, segments.slice(skip))) return true;
      return false;
    }
    return segments.length > 0 && glob(first, segments[0]) && segmentsMatch(rest, segments.slice(1));
  }
  // dbt's file method: the file name, with or without its extension.
  function fileMatches(selector, path) {
    const name = path.split("/").pop();
    const dot = name.lastIndexOf(".");
    return glob(selector, name) || glob(selector, dot > 0 ? name.slice(0, dot) : name);
  }
  // dbt's config method: follow the key path, then compare the value (or any element of a
  // list) as text; booleans match true/false in any case, `severity` ignores case.
  function configMatches(config, keys, wanted) {
    let value = config;
    for (const key of keys) value = value !== null && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, key) ? value[key] : undefined;
    const caseless = keys.length === 1 && keys[0] === "severity";
    const scalar = (item) => {
      if (typeof item === "string") return caseless ? item.toLowerCase() === wanted.toLowerCase() : item === wanted;
      if (typeof item === "boolean") return wanted.toLowerCase() === String(item);
      return typeof item === "number" && String(item) === wanted;
    };
    return Array.isArray(value) ? value.some(scalar) : scalar(value);
  }
  const isTest = (node) => node.t === "test" || node.t === "unit_test";
  const isSource = (node) => node.t === "source";

  // Whether `criterion`'s method and value (graph operators aside) match `node` (a site node
  // with its config and names for selection; see `views`).
  function matches(criterion, node) {
    const value = criterion.value;
    const config = node.config;
    switch (criterion.method) {
      case "fqn": return !isSource(node) && fqnMatches(value, node.fqn);
      case "tag": return (node.tags || []).some((tag) => glob(value, tag));
      case "path": return pathMatches(value, node.f || "");
      case "file": return fileMatches(value, node.f || "");
      case "package": return glob(value, node.pkg || "");
      case "config": return configMatches(config, criterion.keys, value);
      case "resource_type": return node.t === value;
      case "source": return isSource(node) && glob(criterion.source.pkg, node.pkg || "")
        && glob(criterion.source.source, node.sn) && glob(criterion.source.table, node.table);
      case "test_type": return node.t === "test" && (criterion.testKind === "data" ? !!node.kind : node.kind === criterion.testKind);
      case "test_name": return isTest(node) && node.tn !== undefined && glob(value, node.tn);
      case "group": return !isSource(node) && typeof config.group === "string" && glob(value, config.group);
      case "access": return node.t === "model" && (typeof config.access === "string" ? config.access : "protected") === value;
      case "result": return node.st === value;
      default: return false; // exposures, metrics, ...: tmk has none
    }
  }

  // ---- Evaluation (selector.rs, eager indirect selection) -----------------------------------
  // Index lists of each node's parents and children from [parent, child] edges.
  function adjacency(count, edges) {
    const parents = Array.from({ length: count }, () => []);
    const children = Array.from({ length: count }, () => []);
    for (const [p, c] of edges) { parents[c].push(p); children[p].push(c); }
    return { parents, children };
  }

  // `start` and everything within `depth` steps along `next`, in one breadth-first walk.
  function walk(start, next, depth) {
    const seen = new Set(start);
    let frontier = [...seen];
    for (let d = 0; frontier.length && d < depth; d++) {
      const found = [];
      for (const i of frontier) for (const j of next[i]) if (!seen.has(j)) { seen.add(j); found.push(j); }
      frontier = found;
    }
    return seen;
  }

  // A selector over the site's data: `evaluate(select, exclude)` → {nodes: Set of indices,
  // notices: [text]}, or throws a SelectorError with `input` naming the box at fault. An empty
  // select means every node (the whole graph), as the page opens.
  function create(data) {
    const nodes = data.nodes;
    const graph = adjacency(nodes.length, data.edges.concat(data.test_edges || []));
    const context = { statuses: new Set(nodes.map((node) => node.st).filter(Boolean)) };
    let views = null;
    // What a selector sees of each node, built on first use.
    const nodeViews = () => views || (views = nodes.map((node) => Object.assign({}, node, {
      config: (data.configs || [])[node.c] || {},
      fqn: node.fqn || [],
      table: node.sn !== undefined ? node.n.slice(node.sn.length + 1) : node.n,
      kind: node.t === "test" ? (node.tn !== undefined ? "generic" : "singular") : null,
    })));

    // Why a term matched nothing, when the reason is worth saying.
    function nothingBecause(criterion) {
      if (ABSENT[criterion.method]) return `: this project has no ${ABSENT[criterion.method]}`;
      if (criterion.method === "result") return `: the last run's statuses are ${[...context.statuses].sort().map((s) => "`" + s + "`").join(", ")}`;
      return "";
    }

    // One term: the matching nodes, their graph neighbours, then the tests on them.
    function term(criterion, notices) {
      const all = nodeViews();
      const collected = [];
      all.forEach((node, i) => { if (matches(criterion, node)) collected.push(i); });
      if (!collected.length) notices.push(`\`${criterion.text}\` matches nothing${nothingBecause(criterion)}`);
      const selected = new Set(collected);
      const add = (found) => { for (const i of found) selected.add(i); };
      if (criterion.at) add(walk([...walk(collected, graph.children, Infinity)], graph.parents, Infinity));
      if (criterion.parents !== null) add(walk(collected, graph.parents, criterion.parents));
      if (criterion.children !== null) add(walk(collected, graph.children, criterion.children));
      for (const i of [...selected]) for (const j of graph.children[i]) if (isTest(all[j])) selected.add(j);
      return selected;
    }

    // A union of intersections.
    function selection(parsed, notices) {
      const union = new Set();
      for (const intersection of parsed) {
        let acc = null;
        for (const criterion of intersection) {
          const set = term(criterion, notices);
          acc = acc === null ? set : new Set([...acc].filter((i) => set.has(i)));
        }
        for (const i of acc) union.add(i);
      }
      return union;
    }

    // Parse one box's text; errors name the box.
    function parse(text, input) {
      try {
        return parseSelection(text, context);
      } catch (error) {
        if (error instanceof SelectorError) error.input = input;
        throw error;
      }
    }

    function evaluate(selectText, excludeText) {
      const include = parse(selectText || "", "select");
      const exclude = parse(excludeText || "", "exclude");
      const notices = [];
      const chosen = include.length ? selection(include, notices) : new Set(nodes.keys());
      for (const i of selection(exclude, notices)) chosen.delete(i);
      return { nodes: chosen, notices };
    }
    return { evaluate };
  }

  window.TmkSelector = { create, adjacency, SelectorError };
})();
