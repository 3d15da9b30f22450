/**
 * Checks that the repository explains itself: every relative link and #anchor in README.md and
 * docs/*.md resolves, every citation of a docs/ file and its #anchor anywhere (code comments, tests)
 * resolves, and
 * nothing refers to a document outside the repository. Pure over a folder, so a test can run it on
 * the repository and on a small broken tree alike. Anchors are GitHub's heading slugs.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, normalize, relative, sep } from 'node:path';

/** Folders never scanned: installed, built or generated, not written by us. */
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', 'test-output', 'data', 'data-demo', 'coverage']);
/** Files whose bytes are not text. */
const BINARY_EXT = new Set([
  '.ttf',
  '.otf',
  '.woff',
  '.woff2',
  '.png',
  '.jpg',
  '.jpeg',
  '.webp',
  '.gif',
  '.avif',
  '.ico',
  '.zip',
  '.gz',
  '.db',
  '.pdf',
]);

/**
 * What may not appear anywhere: references to the design documents that live outside the repository.
 * Spelled in pieces so this file does not match itself.
 */
export const FORBIDDEN: readonly { what: string; re: RegExp }[] = [
  { what: '../' + 'shared/', re: new RegExp('\\.\\./' + 'shared/') },
  { what: 'design ' + '§', re: new RegExp('design ' + '§', 'i') },
  { what: 'design' + '.md', re: new RegExp('\\bdesign' + '\\.md\\b', 'i') },
];

/** A citation of a docs/ file anywhere: its path from the root, with an optional `#anchor`. */
const CITATION = /(?<![\w./-])docs\/([\w.-]+\.md)(#[\w-]+)?/g;

/** GitHub's slug of a heading's text: lowercase, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML tags
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Lines outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  let fence: string | null = null;
  markdown.split('\n').forEach((line, i) => {
    const m = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === null) fence = m[1][0];
      else if (m[1][0] === fence) fence = null;
      return;
    }
    if (fence === null) out.push({ line, n: i + 1 });
  });
  return out;
}

/** The anchors a Markdown file offers: its headings' slugs (duplicates numbered as GitHub does), and explicit ids. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { line } of proseLines(markdown)) {
    const h = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = githubSlug(h[1]);
      const count = seen.get(base) ?? 0;
      seen.set(base, count + 1);
      anchors.add(count === 0 ? base : `${base}-${count}`);
    }
    for (const m of line.matchAll(/<a\s[^>]*(?:name|id)=["']([^"']+)["']/gi)) anchors.add(m[1]);
  }
  return anchors;
}

/** The link targets of a Markdown file (inline links and reference definitions), outside code. */
export function linksOf(markdown: string): { target: string; line: number }[] {
  const out: { target: string; line: number }[] = [];
  for (const { line, n } of proseLines(markdown)) {
    const text = line.replace(/`[^`]*`/g, ''); // inline code is not a link
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], line: n });
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (def) out.push({ target: def[1], line: n });
  }
  return out;
}

export interface Problem {
  file: string;
  line: number;
  message: string;
}

/** Every text file under `root`, relative paths with `/`, skipping installed and built folders. */
export function textFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) {
        if (!SKIP_DIRS.has(name)) walk(p);
      } else if (st.isFile() && !BINARY_EXT.has(extname(name).toLowerCase())) {
        const bytes = readFileSync(p);
        if (!bytes.subarray(0, 8000).includes(0)) out.push(relative(root, p).split(sep).join('/'));
      }
    }
  };
  walk(root);
  return out;
}

function createAnchorCache(root: string) {
  const cache = new Map<string, Set<string>>();
  return (file: string): Set<string> => {
    let a = cache.get(file);
    if (!a) {
      a = anchorsOf(readFileSync(join(root, file), 'utf8'));
      cache.set(file, a);
    }
    return a;
  };
}

/** (a) Relative links and anchors in README.md and docs/*.md. */
export function checkMarkdownLinks(root: string): Problem[] {
  const anchors = createAnchorCache(root);
  const docs = existsSync(join(root, 'docs'))
    ? readdirSync(join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => `docs/${f}`)
    : [];
  const files = [...(existsSync(join(root, 'README.md')) ? ['README.md'] : []), ...docs.sort()];
  const problems: Problem[] = [];
  for (const file of files) {
    for (const { target, line } of linksOf(readFileSync(join(root, file), 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue; // http:, mailto:, …
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
      const resolved =
        pathPart === ''
          ? file
          : normalize(join(dirname(file), pathPart))
              .split(sep)
              .join('/');
      if (resolved.startsWith('..') || !existsSync(join(root, resolved))) {
        problems.push({ file, line, message: `link ${target}: ${resolved} does not exist` });
        continue;
      }
      if (anchor !== null && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) {
        problems.push({ file, line, message: `link ${target}: ${resolved} has no heading with anchor #${anchor}` });
      }
    }
  }
  return problems;
}

/** (b) Every citation of a docs/ file (and its #anchor) in any file resolves from the repository's root. */
export function checkCitations(root: string, files: readonly string[] = textFiles(root)): Problem[] {
  const anchors = createAnchorCache(root);
  const problems: Problem[] = [];
  for (const file of files) {
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        for (const m of text.matchAll(CITATION)) {
          const doc = `docs/${m[1]}`;
          if (!existsSync(join(root, doc))) {
            problems.push({ file, line: i + 1, message: `cites ${m[0]}: ${doc} does not exist` });
          } else if (m[2] && !anchors(doc).has(m[2].slice(1))) {
            problems.push({ file, line: i + 1, message: `cites ${m[0]}: ${doc} has no heading with anchor ${m[2]}` });
          }
        }
      });
  }
  return problems;
}

/** (c) No file refers to a document outside the repository. */
export function checkNoOutsideReferences(root: string, files: readonly string[] = textFiles(root)): Problem[] {
  const problems: Problem[] = [];
  for (const file of files) {
    readFileSync(join(root, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        for (const f of FORBIDDEN) {
          if (f.re.test(text))
            problems.push({ file, line: i + 1, message: `refers to "${f.what}", a document outside the repository: link docs/ instead` });
        }
      });
  }
  return problems;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n');
}
