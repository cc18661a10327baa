// A .node file built for another machine (an x86-64 local build in a package copied to an arm64
// server, or the linux-arm64 prebuild handed to an x86-64 process) is refused by the loader's file
// check, naming both machines, before the dynamic loader sees it: backend() says so in loadError,
// and the loader goes on to the next candidate (the prebuild for this machine). The children import
// the compiled package (dist/), which `npm test` builds first.
import {
  copyFileSync,
  cpSync,
  existsSync,
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

const scratch = mkdtempSync(join(tmpdir(), 'focal-loss-machine-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const EM_X86_64 = 62;
const EM_AARCH64 = 183;

/** A bare ELF header (no program or section headers: structurally valid) for the given machine. */
function elfHeader(machine: number, wide = true): Buffer {
  const bytes = Buffer.alloc(wide ? 64 : 52);
  bytes.writeUInt32BE(0x7f454c46, 0);
  bytes[4] = wide ? 2 : 1; // ELFCLASS64 / ELFCLASS32
  bytes[5] = 1; // little-endian
  bytes[6] = 1; // EV_CURRENT
  bytes.writeUInt16LE(3, 16); // ET_DYN
  bytes.writeUInt16LE(machine, 18);
  return bytes;
}

const write = (name: string, bytes: Buffer) => {
  const path = join(scratch, name);
  writeFileSync(path, bytes);
  return path;
};

describe('checkBinaryFile: the ELF machine against process.arch (in this process: it only reads)', () => {
  it('refuses an AArch64 file in an x64 process and an x86-64 file in an arm64 one, naming both', () => {
    const arm = write('arm64.node', elfHeader(EM_AARCH64));
    const x86 = write('x64.node', elfHeader(EM_X86_64));
    expect(() => checkBinaryFile(arm, 'x64')).toThrow(
      'wrong machine: built for arm64 (ELF e_machine 183), this process is x64; rebuild it here, or install the package on a x64 machine',
    );
    expect(() => checkBinaryFile(x86, 'arm64')).toThrow(
      /^wrong machine: built for x64 \(ELF e_machine 62\), this process is arm64; /,
    );
    expect(() => checkBinaryFile(arm, 'arm64')).not.toThrow();
    expect(() => checkBinaryFile(x86, 'x64')).not.toThrow();
  });

  it('a 32-bit x86 file in an x64 process is refused too (the class alone does not say which CPU)', () => {
    expect(() => checkBinaryFile(write('ia32.node', elfHeader(3, false)), 'x64')).toThrow(/built for ia32/);
  });

  it('machines and architectures it does not know are left to the dynamic loader', () => {
    expect(() => checkBinaryFile(write('unknown.node', elfHeader(0x9999)), 'x64')).not.toThrow();
    expect(() => checkBinaryFile(write('mips.node', elfHeader(8)), 'x64')).not.toThrow(); // EM_MIPS: not mapped
    expect(() => checkBinaryFile(write('arm64-on-mips.node', elfHeader(EM_AARCH64)), 'mips')).not.toThrow();
  });

  it('the default is process.arch: the addon built here passes', () => {
    if (builtAddon) expect(() => checkBinaryFile(builtAddon!)).not.toThrow();
  });
});

const addonBytes = builtAddon ? readFileSync(builtAddon) : Buffer.alloc(0);
const isElf = addonBytes.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
const otherMachine = () => {
  // The real addon with the machine field swapped: the bytes of a build for the other CPU.
  const bytes = Buffer.from(addonBytes);
  const machine = bytes.readUInt16LE(18);
  bytes.writeUInt16LE(machine === EM_AARCH64 ? EM_X86_64 : EM_AARCH64, 18);
  return { bytes, builtFor: machine === EM_AARCH64 ? 'x64' : 'arm64' };
};

describe.runIf(builtAddon !== undefined && isElf)(
  'the loader and a build for another machine (child processes)',
  () => {
    it('as FOCAL_LOSS_NATIVE_PATH: import works, backend is js, loadError names both machines', () => {
      const { bytes, builtFor } = otherMachine();
      const path = write('other.node', bytes);
      const result = child({ FOCAL_LOSS_NATIVE_PATH: path });
      expect(result.signal, result.stderr).toBeNull();
      expect(result.status, result.stderr).toBe(0);
      expect(result.report.name).toBe('js');
      expect(result.report.loadError).toContain(
        `${path}: wrong machine: built for ${builtFor} (ELF e_machine ${bytes.readUInt16LE(18)}), this process is ${process.arch}`,
      );
      expect(result.report.loss).toBeCloseTo(Math.LN2, 15);
    });

    it('as the local build of a package that also has the prebuild for this machine: the prebuild is loaded', () => {
      // A package root of its own (as in test/loader.test.ts): dist/ copied, node_modules linked.
      const dir = join(scratch, 'package');
      mkdirSync(dir);
      cpSync(join(root, 'dist'), join(dir, 'dist'), { recursive: true });
      copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
      symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
      const local = join(dir, 'build', 'Release', 'focal_loss.node');
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, otherMachine().bytes);
      const prebuild = join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'focal-loss.glibc.node');
      mkdirSync(dirname(prebuild), { recursive: true });
      writeFileSync(prebuild, addonBytes);
      const result = child({}, pathToFileURL(join(dir, 'dist', 'index.js')).href);
      expect(result.status, result.stderr).toBe(0);
      expect(result.report.name).toBe('native');
      expect(result.report.path).toBe(prebuild);
    });

    const arm64Prebuild = join(root, 'prebuilds', 'linux-arm64', 'focal-loss.glibc.node');
    it.runIf(process.arch === 'x64' && existsSync(arm64Prebuild))(
      'the real linux-arm64 prebuild (npm run prebuildify with the cross compiler) is refused here by name',
      () => {
        expect(() => checkBinaryFile(arm64Prebuild)).toThrow(/^wrong machine: built for arm64 \(ELF e_machine 183\)/);
      },
    );
  },
);
