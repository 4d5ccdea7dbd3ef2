// Shared by the render benchmarks in Chromium and in Node.

/**
 * Inputs that made the old trailing-punctuation regex quadratic (in WebKit,
 * the desktop window's engine, and in Node's V8), and messages made of
 * thousands of links or mentions.
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
];
