/**
 * The repository explains itself: README.md and docs/ link only to what exists, every docs/ section a
 * comment cites exists, and nothing refers to a design document outside the repository. The same
 * checks are run on a small broken tree to show that each one fails when it should.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  anchorsOf,
  checkCitations,
  checkMarkdownLinks,
  checkNoOutsideReferences,
  formatProblems,
  githubSlug,
  textFiles,
} from '../helpers/docLinks.js';
import { tmpDir } from '../helpers/tmp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const files = textFiles(root);

test("githubSlug: the anchors GitHub gives this README's headings", () => {
  assert.is(githubSlug('Opening it on a phone (HTTPS)'), 'opening-it-on-a-phone-https');
  assert.is(githubSlug('Behind a reverse proxy: a public server'), 'behind-a-reverse-proxy-a-public-server');
  assert.is(githubSlug('When Letterboxd refuses: your export, and TMDB posters'), 'when-letterboxd-refuses-your-export-and-tmdb-posters');
  assert.is(githubSlug('`poll_feed` and [links](x.md)'), 'poll_feed-and-links');
  assert.is(githubSlug('Films · pages — 2026'), 'films--pages--2026');
  const anchors = anchorsOf('# A\n\n```\n# not a heading\n```\n## A\n### Queue rules ##\n');
  assert.equal([...anchors], ['a', 'a-1', 'queue-rules']);
});

test('the repository has its docs: architecture.md and letterboxd.md', () => {
  assert.ok(files.includes('docs/architecture.md'));
  assert.ok(files.includes('docs/letterboxd.md'));
  assert.ok(files.length > 100, `scanned only ${files.length} files`);
});

test('(a) every relative link and #anchor in README.md and docs/*.md resolves', () => {
  const problems = checkMarkdownLinks(root);
  assert.is(problems.length, 0, `broken links:\n${formatProblems(problems)}`);
});

test('(b) every docs/ section cited in the code, the tests and the docs exists', () => {
  const problems = checkCitations(root, files);
  assert.is(problems.length, 0, `broken citations:\n${formatProblems(problems)}`);
  // The comments do cite docs/ sections: a scan that found none would prove nothing.
  const citing = files.filter((f) => /\.(ts|mjs)$/.test(f) && /docs\/(architecture|letterboxd)\.md#/.test(readText(f)));
  assert.ok(citing.length >= 40, `only ${citing.length} source files cite a docs/ section`);
});

test('(c) no file refers to a document outside the repository', () => {
  const problems = checkNoOutsideReferences(root, files);
  assert.is(problems.length, 0, `references outside the repository:\n${formatProblems(problems)}`);
});

test('each check fails on a broken tree, naming the file, the line and what is wrong', () => {
  const tmp = tmpDir('mm-doclinks-');
  try {
    const put = (path: string, text: string) => {
      mkdirSync(dirname(join(tmp.dir, path)), { recursive: true });
      writeFileSync(join(tmp.dir, path), text);
    };
    // Paths under docs/ are spelled through `D` so that this file does not cite them itself.
    const D = 'docs' + '/';
    put(`${D}guide.md`, '# Guide\n\n## Queue rules\n\nSee [the readme](../README.md#setup) and [gone](missing.md).\n');
    put('README.md', `# App\n\n## Setup\n\n[ok](${D}guide.md#queue-rules), [bad anchor](${D}guide.md#queue-ruls), [self](#nowhere)\n`);
    put('src/a.ts', `// fine (${D}guide.md#queue-rules)\n// broken (${D}guide.md#the-feed)\n// no file (${D}nope.md)\n`);
    put('src/b.ts', '/** As the design says (' + 'design ' + '§2), see ' + '../' + 'shared/' + 'design' + '.md */\n');
    put('node_modules/x/y.ts', '// design' + '.md is fine here: not ours\n');

    const links = checkMarkdownLinks(tmp.dir);
    assert.equal(formatProblems(links).split('\n'), [
      `README.md:5: link ${D}guide.md#queue-ruls: ${D}guide.md has no heading with anchor #queue-ruls`,
      'README.md:5: link #nowhere: README.md has no heading with anchor #nowhere',
      `${D}guide.md:5: link missing.md: ${D}missing.md does not exist`,
    ]);

    const tree = textFiles(tmp.dir);
    assert.equal(tree, ['README.md', `${D}guide.md`, 'src/a.ts', 'src/b.ts']);
    const citations = checkCitations(tmp.dir, tree);
    assert.equal(formatProblems(citations).split('\n'), [
      `README.md:5: cites ${D}guide.md#queue-ruls: ${D}guide.md has no heading with anchor #queue-ruls`,
      `src/a.ts:2: cites ${D}guide.md#the-feed: ${D}guide.md has no heading with anchor #the-feed`,
      `src/a.ts:3: cites ${D}nope.md: ${D}nope.md does not exist`,
    ]);

    const outside = checkNoOutsideReferences(tmp.dir, tree);
    assert.is(outside.length, 3, formatProblems(outside));
    assert.ok(outside.every((p) => p.file === 'src/b.ts' && p.line === 1));
    assert.match(outside[0].message, /a document outside the repository: link docs\/ instead/);
  } finally {
    tmp.cleanup();
  }
});

function readText(file: string): string {
  return readFileSync(join(root, file), 'utf8');
}

test.run();
