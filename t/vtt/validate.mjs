#!/usr/bin/env node
// validate.mjs - checks a WebVTT file with webvtt-parser (the parser of
// W3C's WebVTT validator, which follows the specification's parsing
// algorithm), in its strict mode: cue text errors count too, and
// character references are decoded with the full HTML table.
//
//   node t/vtt/validate.mjs [FILE]      (no FILE, or "-": stdin)
//
// Prints one JSON object:
//   {"errors":[{"message","line","col"}...],
//    "cues":[{"id","start","end","start_ms","end_ms","text","raw"}...]}
// start and end are the parser's seconds, start_ms and end_ms the same
// rounded to milliseconds, text the payload's text with the character
// references decoded and tags dropped, raw the payload as written.
// Bytes that are not UTF-8 are an error as well (the parser itself only
// sees the decoded text).  Exits 0 without errors, 1 with, 2 when the
// file cannot be read.

import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebVTTParser } = require('webvtt-parser');
const entities = require('webvtt-parser/html-entities.json');

function textOf(nodes) {
  let s = '';
  for (const n of nodes ?? []) {
    if (n.type === 'text') s += n.value;
    else if (n.children) s += textOf(n.children);
  }
  return s;
}

let bytes;
try {
  const file = process.argv[2];
  bytes = fs.readFileSync(file === undefined || file === '-' ? 0 : file);
} catch (e) {
  console.error(`validate.mjs: ${e.message}`);
  process.exit(2);
}

const errors = [];
let input;
try {
  input = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
} catch {
  errors.push({ message: 'The file is not valid UTF-8.', line: 0, col: 0 });
  input = new TextDecoder('utf-8').decode(bytes);
}
// TextDecoder drops a leading BOM, which the parser accepts anyway.
const tree = new WebVTTParser(entities).parse(input);
errors.push(...tree.errors);
const cues = tree.cues.map((c) => ({
  id: c.id,
  start: c.startTime,
  end: c.endTime,
  start_ms: Math.round(c.startTime * 1000),
  end_ms: Math.round(c.endTime * 1000),
  text: textOf(c.tree?.children),
  raw: c.text,
}));
process.stdout.write(JSON.stringify({ errors, cues }) + '\n');
process.exit(errors.length ? 1 : 0);
