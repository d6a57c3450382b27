/**
 * The content-addressed ARF store on a real directory: a blob is shared by reports with the same
 * bytes and removed with the last of them; components that could leave the store are refused.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ArfStore, type ArfReportRef } from '../../hub/storage/arf-store.ts';
import { looseModes, withUmask } from '../helpers/file-modes.ts';

const digest = (c: string) => c.repeat(64);
const dir = mkdtempSync(join(tmpdir(), 'proxyhub-store-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const store = new ArfStore(dir);

async function read(ref: ArfReportRef): Promise<string | undefined> {
  const found = await store.open(ref);
  if (!found) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of found.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

t.test('a report is readable once linked, and only by its full name', async (t) => {
  const ref = { cname: 'a.example.com', id: '1', date: '100', digest: digest('a') };
  await store.putBlob(ref.digest, Buffer.from('bytes-a'));
  t.equal(await read(ref), undefined, 'not before Foreman accepted it');
  await store.link(ref);
  t.equal(await read(ref), 'bytes-a');
  t.equal(await read({ ...ref, id: '2' }), undefined, 'another id does not reach it');
  t.equal(await read({ ...ref, cname: 'b.example.com' }), undefined, 'another host does not reach it');
});

t.test('identical bytes are stored once; the blob goes with its last report', async (t) => {
  const first = { cname: 'c.example.com', id: '10', date: '200', digest: digest('b') };
  const second = { cname: 'd.example.com', id: '11', date: '201', digest: digest('b') };
  await store.putBlob(first.digest, Buffer.from('same'));
  await store.link(first);
  await store.putBlob(second.digest, Buffer.from('same'));
  await store.link(second);
  t.same(readdirSync(join(dir, 'arf', 'blobs', 'bb')), [`${digest('b')}.xml.bz2`], 'one blob');
  t.equal(await store.remove(first), true);
  t.equal(await read(second), 'same', 'still there for the other report');
  t.equal(await store.remove(second), true);
  t.same(readdirSync(join(dir, 'arf', 'blobs', 'bb')), [], 'gone with the last report');
  t.equal(await store.remove(second), false, 'removing again finds nothing');
});

t.test('an upload Foreman refused leaves nothing behind unless another report shares it', async (t) => {
  await store.putBlob(digest('c'), Buffer.from('refused'));
  await store.dropBlobIfUnreferenced(digest('c'));
  t.same(readdirSync(join(dir, 'arf', 'blobs', 'cc')), []);
  const kept = { cname: 'e.example.com', id: '12', date: '300', digest: digest('d') };
  await store.putBlob(kept.digest, Buffer.from('kept'));
  await store.link(kept);
  await store.dropBlobIfUnreferenced(kept.digest);
  t.equal(await read(kept), 'kept');
});

t.test('path components that could escape the store are refused', async (t) => {
  const good = { cname: 'f.example.com', id: '1', date: '1', digest: digest('e') };
  for (const bad of [{ cname: '..' }, { cname: 'a/b' }, { id: '1/../2' }, { date: 'x' }, { digest: 'E'.repeat(64) }, { digest: '../x' }]) {
    await t.rejects(store.open({ ...good, ...bad }), { code: 'PROXYHUB_INPUT_INVALID' }, JSON.stringify(bad));
  }
});

t.test('host data is never world-readable: files 0640, directories 0750, whatever the umask', async (t) => {
  for (const mask of [0o000, 0o022]) {
    const root = mkdtempSync(join(tmpdir(), 'proxyhub-store-modes-'));
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    await withUmask(mask, async () => {
      const modes = new ArfStore(root);
      const ref = { cname: 'modes.example.com', id: '7', date: '700', digest: digest('7') };
      await modes.putBlob(ref.digest, Buffer.from('host data'));
      await modes.link(ref);
    });
    t.same(looseModes(root), [], `umask ${mask.toString(8).padStart(4, '0')}: blob, markers, back-references and their directories`);
  }
});
