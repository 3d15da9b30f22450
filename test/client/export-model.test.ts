/** The client's side of the export upload: the API call (raw bytes, not a form), checks and sentences. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ApiError, createApi, EXPORT_MAX_BYTES } from '../../client/api.js';
import { adviceFor } from '../../client/advice.js';
import { importedSentence, uploadProblems } from '../../client/export-model.js';
import { fakeFetch, json } from '../helpers/fakeFetch.js';

const summary = { username: 'dave', films: 1234, diaryEntries: 2345, importedAt: '2026-11-15T12:00:00.000Z' };

test('uploadExport POSTs the file itself as application/zip to the member’s export URL', async () => {
  const f = fakeFetch(() => json(200, { import: summary }));
  const zip = new Blob([new Uint8Array([0x50, 0x4b, 3, 4])]);
  const res = await createApi(f.fn).uploadExport('Dave_1', zip);
  assert.equal(res, summary);
  assert.is(f.calls.length, 1);
  const c = f.calls[0];
  assert.equal([c.url, c.method, c.headers['content-type']], ['/api/users/Dave_1/export', 'POST', 'application/zip']);
  assert.is(c.body, zip, 'the Blob as the body: no multipart, no JSON');
});

test('uploadExport: INVALID_EXPORT comes back as an ApiError with the server’s sentence; a cancel is not a network error', async () => {
  const f = fakeFetch(() => json(400, { error: { code: 'INVALID_EXPORT', message: 'The upload is not a ZIP file.' } }));
  try {
    await createApi(f.fn).uploadExport('dave', new Blob(['x']));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ApiError);
    assert.equal(
      [(err as ApiError).code, (err as ApiError).status, (err as ApiError).message],
      ['INVALID_EXPORT', 400, 'The upload is not a ZIP file.'],
    );
  }
  const abort = new AbortController();
  const hang = (async (_i: RequestInfo | URL, init?: RequestInit) =>
    new Promise<Response>((_resolve, reject) =>
      init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
    )) as typeof fetch;
  const p = createApi(hang).uploadExport('dave', new Blob(['x']), { signal: abort.signal });
  abort.abort();
  try {
    await p;
    assert.unreachable();
  } catch (err) {
    assert.not.instance(err, ApiError);
    assert.is((err as DOMException).name, 'AbortError');
  }
});

test('checks before sending: a username, a file, not empty, at most 20 MB', () => {
  assert.equal(uploadProblems('dave', { name: 'export.zip', size: 5000 }), {});
  assert.equal(Object.keys(uploadProblems('', null)).sort(), ['file', 'username']);
  assert.match(uploadProblems('dave', { name: 'e.zip', size: 0 }).file!, /e\.zip is empty/);
  assert.match(
    uploadProblems('dave', { name: 'huge.zip', size: EXPORT_MAX_BYTES + 1 }).file!,
    /^huge\.zip is 20 MB; an export is far smaller/,
  );
  assert.match(uploadProblems('no way', { name: 'e.zip', size: 10 }).username!, /letters, digits and underscores/);
});

test('sentences: the import’s counts; the blocked banner links to the upload', () => {
  assert.is(importedSentence(summary), 'Imported 1,234 films and 2,345 diary entries for dave.');
  assert.is(importedSentence({ ...summary, films: 1, diaryEntries: 1 }), 'Imported 1 film and 1 diary entry for dave.');
  assert.equal(adviceFor('LETTERBOXD_BLOCKED').link, { href: '#export', label: 'Upload your Letterboxd export' });
  assert.ok(adviceFor('INVALID_EXPORT').link);
  assert.is(adviceFor('NO_FILMS').link, undefined);
});

test.run();
