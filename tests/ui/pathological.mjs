// Shared by the render benchmarks in Chromium and in Node.

/**
 * Inputs that made the old trailing-punctuation regex quadratic (in WebKit,
 * the desktop window's engine, and in Node's V8), messages made of
 * thousands of links or mentions, and formatting markers that a
 * backtracking parser would retry from every position: unmatched and
 * alternating `**`, `_` and backtick runs, and thousands of fences.
 */
export const PATHOLOGICAL = [
  `http://${'.'.repeat(16370)}a`,
  `http://${'.'.repeat(16377)}`,
  `http://a${')'.repeat(16000)}`,
  `http://a${'.,'.repeat(8000)}`,
  `https://${'a.'.repeat(4000)}${'!'.repeat(8000)}`,
  `${'http://x '.repeat(1800)}`,
  `${'@Ann '.repeat(3200)}`,
  `@${'a'.repeat(16000)}`,
  '`'.repeat(16000),
  '` '.repeat(8000),
  ('`'.repeat(7) + 'a').repeat(2000),
  '**a '.repeat(4000),
  '_a '.repeat(5000),
  '**_'.repeat(5000),
  'x**'.repeat(5000),
  '_**_**'.repeat(2500),
  '```\n'.repeat(4000),
  `${'``` x\n'.repeat(2500)}\`\`\``,
];
