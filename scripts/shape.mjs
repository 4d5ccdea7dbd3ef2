// The code's shape, checked: no import circle between the concepts of a
// Rust crate (the top-level modules of server/src and src-tauri/src, read
// from every `crate::` path) or of the UI (the folders of ui/, read from
// its imports), no file over 500 lines in server/src and ui/,
// and no function over 100 lines in server/src, src-tauri/src and ui/.
//
//   node scripts/shape.mjs           check, and print the concepts' graph
//   node scripts/shape.mjs --quiet   check only
//
// Exits 1 and says what is wrong when a rule is broken.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAX_FILE_LINES = 500;
const MAX_FN_LINES = 100;
const quiet = process.argv.includes('--quiet');

/** @param {string} dir @param {string[]} exts @returns {string[]} */
function files(dir, exts) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full, exts));
    else if (exts.some((ext) => name.endsWith(ext))) out.push(full);
  }
  return out.sort();
}

/** @param {string} file */
const rel = (file) => path.relative(ROOT, file);

/** Source without comments and string contents, so neither counts as code. @param {string} text */
function code(text) {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, '')
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}

/**
 * The first name of each path in a `{…}` use list: `{a::b, c, d::{e, f}}`
 * gives a, c and d.
 * @param {string} group
 */
function topLevelNames(group) {
  const names = [];
  let depth = 0;
  let item = '';
  for (const ch of group) {
    if (ch === '{') depth += 1;
    if (ch === '}') depth -= 1;
    if ((ch === ',' && depth === 1) || depth === 0) {
      const name = item.replace(/^[{\s]+/, '').match(/^[a-z_][a-z0-9_]*/);
      if (name) names.push(name[0]);
      item = '';
    } else {
      item += ch;
    }
  }
  return names;
}

/**
 * The crate's concepts (its top-level modules) and which uses which.
 * @param {string} src
 * @returns {Map<string, Set<string>>}
 */
function conceptGraph(src) {
  const graph = new Map();
  for (const file of files(src, ['.rs'])) {
    const top = path.relative(src, file).split(path.sep)[0].replace(/\.rs$/, '');
    if (top === 'main' || top === 'lib') continue;
    if (!graph.has(top)) graph.set(top, new Set());
    const text = code(readFileSync(file, 'utf8'));
    const uses = graph.get(top);
    // `crate::a::…` and `use crate::{a::…, b::…}`.
    for (const m of text.matchAll(/crate::(\{[^;]*\}|[a-z_][a-z0-9_]*)/g)) {
      const target = m[1];
      const names = target.startsWith('{') ? topLevelNames(target) : [target];
      for (const name of names) if (name !== top) uses.add(name);
    }
  }
  return graph;
}

/**
 * The UI's concepts (its folders; a file at the top is its own) and which
 * imports which, read from every relative `import … from` and `export … from`.
 * @param {string} ui
 * @returns {Map<string, Set<string>>}
 */
function uiGraph(ui) {
  const graph = new Map();
  const concept = (/** @type {string} */ file) => path.relative(ui, file).split(path.sep)[0];
  for (const file of files(ui, ['.js'])) {
    const from = concept(file);
    if (!graph.has(from)) graph.set(from, new Set());
    const text = code(readFileSync(file, 'utf8').replace(/(['"])(\.{1,2}\/[^'"]+)\1/g, '`$2`'));
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^;`]*?from\s*`([^`]+)`/gm)) {
      const to = concept(path.resolve(path.dirname(file), m[1]));
      if (to !== from && !to.startsWith('..')) graph.get(from).add(to);
    }
  }
  return graph;
}

/**
 * Strongly connected components with more than one member: the circles.
 * @param {Map<string, Set<string>>} graph
 */
function circles(graph) {
  let index = 0;
  const stack = [];
  const on = new Set();
  const idx = new Map();
  const low = new Map();
  const found = [];
  /** @param {string} v */
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v), idx.get(w)));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/**
 * Functions longer than the limit: from the line that opens a function to
 * the line that closes its body (Rust `fn`, JavaScript functions, methods
 * and arrow functions with a block body).
 * @param {string} file
 */
function longFunctions(file) {
  const lines = code(readFileSync(file, 'utf8')).split('\n');
  const rust = file.endsWith('.rs');
  const opener = rust
    ? /^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)/
    : /^\s*(export\s+)?(async\s+)?(function\s*\*?\s*(\w+)|(static\s+)?(async\s+)?(get\s+|set\s+)?(#?\w+)\s*\([^)]*\)\s*\{|(const|let)\s+(\w+)\s*=\s*(async\s+)?(\([^)]*\)|\w+)\s*=>\s*\{)/;
  const found = [];
  for (let i = 0; i < lines.length; i += 1) {
    const m = lines[i].match(opener);
    if (!m) continue;
    if (!rust && /^\s*(if|for|while|switch|catch|return)\b/.test(lines[i])) continue;
    const name = rust ? m[6] : m[4] ?? m[8] ?? m[10] ?? '(anonymous)';
    // Find the body's opening brace, then its match.
    let depth = 0;
    let opened = false;
    let end = -1;
    for (let j = i; j < lines.length && end < 0; j += 1) {
      for (const ch of lines[j]) {
        if (ch === '{') {
          depth += 1;
          opened = true;
        } else if (ch === '}') {
          depth -= 1;
          if (opened && depth === 0) {
            end = j;
            break;
          }
        } else if (ch === ';' && !opened && rust) {
          end = j; // a declaration without a body
          break;
        }
      }
    }
    const length = end - i + 1;
    if (opened && length > MAX_FN_LINES) found.push(`${rel(file)}:${i + 1} ${name} is ${length} lines`);
  }
  return found;
}

const problems = [];
for (const crate of ['server/src', 'src-tauri/src']) {
  const graph = conceptGraph(path.join(ROOT, crate));
  for (const circle of circles(graph)) problems.push(`${crate}: an import circle: ${circle.join(' <-> ')}`);
  if (!quiet) {
    console.log(`${crate}: what each concept uses`);
    for (const [name, uses] of [...graph].sort()) {
      console.log(`  ${name.padEnd(10)} -> ${[...uses].filter((u) => graph.has(u)).sort().join(', ') || '(nothing)'}`);
    }
  }
}
{
  const graph = uiGraph(path.join(ROOT, 'ui'));
  for (const circle of circles(graph)) problems.push(`ui: an import circle: ${circle.join(' <-> ')}`);
  if (!quiet) {
    console.log('ui: what each concept imports');
    for (const [name, uses] of [...graph].sort()) {
      console.log(`  ${name.padEnd(10)} -> ${[...uses].filter((u) => graph.has(u)).sort().join(', ') || '(nothing)'}`);
    }
  }
}
const sources = [
  ...files(path.join(ROOT, 'server/src'), ['.rs']),
  ...files(path.join(ROOT, 'ui'), ['.js']),
];
for (const file of sources) {
  const lines = readFileSync(file, 'utf8').split('\n').length - 1;
  if (lines > MAX_FILE_LINES) problems.push(`${rel(file)} is ${lines} lines (at most ${MAX_FILE_LINES})`);
}
for (const file of [...sources, ...files(path.join(ROOT, 'src-tauri/src'), ['.rs'])]) {
  problems.push(...longFunctions(file));
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
if (!quiet) console.log('shape: no import circle, no file over 500 lines, no function over 100 lines');
