// A truncated .node file (an interrupted build or copy) must not kill `import`: mapping a segment
// that lies past the end of the file is a SIGBUS at the first touch, which no try/catch sees. The
// loader checks the file's headers against its size before loading it, so the truncated addon is a
// loadError and the JS implementation computes. Each case runs in a child process, with the real
// addon cut at several points, once through FOCAL_LOSS_NATIVE_PATH and once as the local build of a
// copy of the package. The children import the compiled package (dist/), which `npm test` builds.
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { builtAddon, child, root } from './loader-child.js';
import { checkBinaryFile } from '../lib/backends/native/binary-file.js';

const scratch = mkdtempSync(join(tmpdir(), 'focal-loss-truncated-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const addonBytes = builtAddon ? readFileSync(builtAddon) : Buffer.alloc(0);
const isElf = addonBytes.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));

/** Where to cut: the ELF header alone, and fractions of the file. */
const cuts: [string, number][] = [
  ['the header only (64 bytes)', 64],
  ['10%', Math.floor(addonBytes.length * 0.1)],
  ['50%', Math.floor(addonBytes.length * 0.5)],
  ['99%', Math.floor(addonBytes.length * 0.99)],
  ['all but the last byte', addonBytes.length - 1],
];

function expectTruncatedReport(result: ReturnType<typeof child>, path: string): void {
  // Before the check: status null, signal SIGBUS (exit 135 in a shell).
  expect(result.signal, result.stderr).toBeNull();
  expect(result.status, result.stderr).toBe(0);
  expect(result.report.name).toBe('js');
  expect(result.report.loadError).toContain(`${path}: truncated or corrupt`);
  expect(result.report.loss).toBeCloseTo(Math.LN2, 15);
}

describe.runIf(builtAddon !== undefined && isElf)('a truncated .node file (child processes)', () => {
  it.each(cuts)('cut at %s, as FOCAL_LOSS_NATIVE_PATH: import works, backend is js, loadError says so', (what, at) => {
    const path = join(scratch, `cut-${at}.node`);
    writeFileSync(path, addonBytes.subarray(0, at));
    expectTruncatedReport(child({ FOCAL_LOSS_NATIVE_PATH: path }), path);
  });

  it.each(cuts)('cut at %s, as the local build of a package copy: the same', (what, at) => {
    // A package root of its own (as in test/loader.test.ts): dist/ copied, node_modules linked.
    const dir = join(scratch, `package-${at}`);
    mkdirSync(dir);
    cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const local = join(dir, 'build', 'Release', 'focal_loss.node');
    mkdirSync(dirname(local), { recursive: true });
    writeFileSync(local, addonBytes.subarray(0, at));
    expectTruncatedReport(child({}, pathToFileURL(join(dir, 'dist', 'index.js')).href), local);
  });

  it('FOCAL_LOSS_BACKEND=native: a clear error at import, not a signal', () => {
    const path = join(scratch, 'cut-native.node');
    writeFileSync(path, addonBytes.subarray(0, Math.floor(addonBytes.length / 2)));
    const result = child({ FOCAL_LOSS_NATIVE_PATH: path, FOCAL_LOSS_BACKEND: 'native' });
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('FOCAL_LOSS_BACKEND=native but the native addon not loaded');
    expect(result.stderr).toContain(`${path}: truncated or corrupt`);
  });

  it('the whole file passes the check (and loads: test/loader.test.ts)', () => {
    const path = join(scratch, 'whole.node');
    writeFileSync(path, addonBytes);
    expect(() => checkBinaryFile(path)).not.toThrow();
  });
});

describe('checkBinaryFile on hand-made headers (in this process: it only reads)', () => {
  const write = (name: string, bytes: Buffer) => {
    const path = join(scratch, name);
    writeFileSync(path, bytes);
    return path;
  };

  /** A thin 64-bit little-endian Mach-O file with one LC_SEGMENT_64 of the given file range. */
  function machO(fileoff: number, filesize: number, total: number): Buffer {
    const bytes = Buffer.alloc(total);
    bytes.writeUInt32LE(0xfeedfacf, 0);
    bytes.writeUInt32LE(1, 16); // ncmds
    bytes.writeUInt32LE(72, 20); // sizeofcmds
    bytes.writeUInt32LE(0x19, 32); // LC_SEGMENT_64
    bytes.writeUInt32LE(72, 36); // cmdsize
    bytes.writeBigUInt64LE(BigInt(fileoff), 32 + 40);
    bytes.writeBigUInt64LE(BigInt(filesize), 32 + 48);
    return bytes;
  }

  /** A PE file: DOS header pointing at the PE header, one section of the given raw data range. */
  function pe(pointer: number, size: number, total: number): Buffer {
    const bytes = Buffer.alloc(total);
    bytes.write('MZ', 0, 'latin1');
    bytes.writeUInt32LE(0x40, 0x3c);
    bytes.write('PE\0\0', 0x40, 'latin1');
    bytes.writeUInt16LE(1, 0x40 + 6); // NumberOfSections
    bytes.writeUInt16LE(0, 0x40 + 20); // SizeOfOptionalHeader
    bytes.writeUInt32LE(size, 0x40 + 24 + 16); // SizeOfRawData
    bytes.writeUInt32LE(pointer, 0x40 + 24 + 20); // PointerToRawData
    return bytes;
  }

  it('Mach-O: a segment within the file passes, one past its end is refused', () => {
    expect(() => checkBinaryFile(write('ok.dylib', machO(0, 4096, 4096)))).not.toThrow();
    expect(() => checkBinaryFile(write('cut.dylib', machO(0, 4096, 2048)))).toThrow(
      /^truncated or corrupt: Mach-O segment 0 ends at byte 4096, the file has 2048 bytes/,
    );
    expect(() => checkBinaryFile(write('cut-header.dylib', machO(0, 0, 104).subarray(0, 16)))).toThrow(/Mach-O header/);
  });

  it('a universal Mach-O file: each slice within the file, and each slice checked', () => {
    const slice = machO(0, 4096, 4096);
    const fat = Buffer.alloc(4096 + 4096);
    fat.writeUInt32BE(0xcafebabe, 0);
    fat.writeUInt32BE(1, 4);
    fat.writeUInt32BE(4096, 8 + 8); // offset
    fat.writeUInt32BE(4096, 8 + 12); // size
    slice.copy(fat, 4096);
    expect(() => checkBinaryFile(write('fat.dylib', fat))).not.toThrow();
    expect(() => checkBinaryFile(write('fat-cut.dylib', fat.subarray(0, 6000)))).toThrow(/universal slice 0/);
  });

  it('PE: a section within the file passes, one past its end is refused', () => {
    expect(() => checkBinaryFile(write('ok.dll', pe(512, 512, 1024)))).not.toThrow();
    expect(() => checkBinaryFile(write('cut.dll', pe(512, 1024, 1024)))).toThrow(/PE section 0 ends at byte 1536/);
    const noSignature = pe(512, 512, 1024);
    noSignature.write('XX', 0x40, 'latin1');
    expect(() => checkBinaryFile(write('nosig.dll', noSignature))).toThrow(/no PE signature/);
  });

  it('other formats and missing files are left to the loader', () => {
    expect(() => checkBinaryFile(write('text.node', Buffer.from('not a shared library')))).not.toThrow();
    expect(() => checkBinaryFile(join(scratch, 'absent.node'))).not.toThrow();
  });

  it.runIf(isElf)('ELF: random cuts and random header bytes are an Error or a pass, never anything else', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(addonBytes.subarray(0, Math.floor(random() * addonBytes.length)));
      for (let k = 0; k < 4 && bytes.length > 64; k++) bytes[Math.floor(random() * 64)] = Math.floor(random() * 256);
      const path = write('fuzz.node', bytes);
      try {
        checkBinaryFile(path);
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
        // A changed machine field is refused by name (test/loader-machine.test.ts).
        expect((error as Error).message).toMatch(/^(truncated|corrupt|wrong machine)/);
      }
    }
  });
});
