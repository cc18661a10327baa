/**
 * The compiled addon's file, checked before the dynamic loader maps it (see checkBinaryFile).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A file's bytes by offset, bounds-checked against its size (bigint: ELF and Mach-O offsets are 64-bit). */
class BinaryFile {
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** Fails unless [offset, offset + length) lies within the file; `what` names the range in the error. */
  within(offset: bigint, length: bigint, what: string): void {
    const end = offset + length;
    if (end > BigInt(this.size)) {
      throw new Error(
        `truncated or corrupt: ${what} ends at byte ${end}, the file has ${this.size} bytes; rebuild or reinstall it`,
      );
    }
  }

  /** The bytes [offset, offset + length), as a view, after within(). */
  read(offset: bigint, length: number, what: string): DataView {
    this.within(offset, BigInt(length), what);
    const bytes = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const n = readSync(this.fd, bytes, done, length - done, Number(offset) + done);
      if (n === 0) throw new Error(`truncated: the file ended while reading ${what}; rebuild or reinstall it`);
      done += n;
    }
    return new DataView(bytes.buffer);
  }
}

/** Fixed-size fields of one header (ELF, Mach-O and PE fields are unsigned), in the file's byte order. */
function fields(view: DataView, little: boolean) {
  return {
    u16: (at: number) => view.getUint16(at, little),
    u32: (at: number) => view.getUint32(at, little),
    /** An offset or size: 32 or 64 bits wide, as the file's class says. */
    word: (at: number, wide: boolean) => (wide ? view.getBigUint64(at, little) : BigInt(view.getUint32(at, little))),
  };
}

/**
 * Checks a shared library's headers against the file's size before the dynamic loader maps it. A
 * file cut short (an interrupted build or copy) still maps, and the first touch of a page past its
 * end is a SIGBUS that kills the process before any error can be caught: here it is an Error, so
 * the addon becomes a loadError like any other. Reads the headers only, never the whole file.
 *
 * Checked, against the size from fstat:
 * - ELF (Linux, the BSDs): the program header table, every segment's file range (p_offset +
 *   p_filesz), the section header table and every section's contents (but SHT_NOBITS, which has none).
 * - Mach-O (macOS): the load commands and every segment's file range (fileoff + filesize), in a thin
 *   file or in each slice of a universal one, and each slice's range.
 * - PE (Windows): the PE header, the section table and every section's raw data.
 * - ELF: the machine (e_machine) against `arch` (process.arch): a file built for another
 *   architecture (an x86-64 local build copied to an arm64 machine, say) is refused by name, where
 *   the dynamic loader would say only "wrong ELF class" or "cannot open shared object file".
 *   Machines missing from ELF_MACHINES, and architectures none of them is, are left to the loader.
 * Not checked: what lies inside those ranges (the loader refuses a bad symbol with its own
 * message), other formats (left to the loader), and a file changed after this check.
 * A missing or unreadable file is left to require(), whose error says so.
 */
export function checkBinaryFile(path: string, arch: string = process.arch): void {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    const file = new BinaryFile(fd, fstatSync(fd).size);
    const magic = file.size >= 4 ? file.read(0n, 4, 'the magic number').getUint32(0, false) : 0;
    if (magic === 0x7f454c46) checkElf(file, arch);
    else if (magic === 0xcafebabe || magic === 0xcafebabf) checkUniversal(file, magic === 0xcafebabf);
    else if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(magic)) checkMachO(file, 0n);
    else if (magic >>> 16 === 0x4d5a) checkPe(file); // 'MZ'
  } finally {
    closeSync(fd);
  }
}

/**
 * ELF e_machine values (the System V ABI's EM_* numbers) of the architectures Node runs on, by
 * process.arch name. mips and mipsel share EM_MIPS (the byte order tells them apart, and the dynamic
 * loader checks that), so EM_MIPS is absent here.
 */
const ELF_MACHINES: Readonly<Record<number, string>> = {
  3: 'ia32', // EM_386
  20: 'ppc', // EM_PPC
  21: 'ppc64', // EM_PPC64
  22: 's390x', // EM_S390
  40: 'arm', // EM_ARM
  62: 'x64', // EM_X86_64
  183: 'arm64', // EM_AARCH64
  243: 'riscv64', // EM_RISCV
  258: 'loong64', // EM_LOONGARCH
};

function checkElf(file: BinaryFile, arch: string): void {
  const ident = file.read(0n, 16, 'the ELF identification');
  const elfClass = ident.getUint8(4);
  const data = ident.getUint8(5);
  if ((elfClass !== 1 && elfClass !== 2) || (data !== 1 && data !== 2)) {
    throw new Error(`corrupt: ELF class ${elfClass}, data encoding ${data}; rebuild or reinstall it`);
  }
  const wide = elfClass === 2;
  const header = fields(file.read(0n, wide ? 64 : 52, 'the ELF header'), data === 1);
  const machine = header.u16(18);
  const builtFor = ELF_MACHINES[machine];
  if (builtFor !== undefined && builtFor !== arch && Object.values(ELF_MACHINES).includes(arch)) {
    throw new Error(
      `wrong machine: built for ${builtFor} (ELF e_machine ${machine}), this process is ${arch}; ` +
        `rebuild it here, or install the package on a ${arch} machine`,
    );
  }
  const phoff = header.word(wide ? 32 : 28, wide);
  const shoff = header.word(wide ? 40 : 32, wide);
  const [phentsize, phnumField, shentsize, shnumField] = (wide ? [54, 56, 58, 60] : [42, 44, 46, 48]).map(header.u16);
  const [phMin, shMin] = wide ? [56, 64] : [32, 40];
  // Counts too large for the header (PN_XNUM, and 0 with a section table) are kept in section 0.
  let phnum = phnumField!;
  let shnum = shnumField!;
  if (shoff !== 0n && (shnum === 0 || phnum === 0xffff)) {
    if (shentsize! < shMin) throw new Error(`corrupt: ELF section header size ${shentsize}; rebuild or reinstall it`);
    const first = fields(file.read(shoff, shMin, 'the ELF section header table'), data === 1);
    if (shnum === 0) shnum = Number(first.word(wide ? 32 : 20, wide));
    if (phnum === 0xffff) phnum = first.u32(wide ? 44 : 28);
  }
  if (phnum > 0) {
    if (phentsize! < phMin) throw new Error(`corrupt: ELF program header size ${phentsize}; rebuild or reinstall it`);
    const table = file.read(phoff, phnum * phentsize!, 'the ELF program header table');
    for (let i = 0; i < phnum; i++) {
      const ph = fields(new DataView(table.buffer, i * phentsize!, phMin), data === 1);
      file.within(ph.word(wide ? 8 : 4, wide), ph.word(wide ? 32 : 16, wide), `ELF segment ${i}`);
    }
  }
  if (shoff !== 0n && shnum > 0) {
    if (shentsize! < shMin) throw new Error(`corrupt: ELF section header size ${shentsize}; rebuild or reinstall it`);
    const table = file.read(shoff, shnum * shentsize!, 'the ELF section header table');
    for (let i = 0; i < shnum; i++) {
      const sh = fields(new DataView(table.buffer, i * shentsize!, shMin), data === 1);
      const SHT_NOBITS = 8;
      if (sh.u32(4) === SHT_NOBITS) continue;
      file.within(sh.word(wide ? 24 : 16, wide), sh.word(wide ? 32 : 20, wide), `ELF section ${i}`);
    }
  }
}

/** A universal (fat) Mach-O file: big-endian slice table, each slice a thin Mach-O file. */
function checkUniversal(file: BinaryFile, wide: boolean): void {
  const count = file.read(4n, 4, 'the universal header').getUint32(0, false);
  const entry = wide ? 32 : 20;
  file.within(8n, BigInt(count * entry), 'the universal slice table');
  for (let i = 0; i < count; i++) {
    const arch = fields(file.read(BigInt(8 + i * entry), entry, 'a universal slice entry'), false);
    const offset = arch.word(8, wide);
    file.within(offset, arch.word(wide ? 16 : 12, wide), `universal slice ${i}`);
    checkMachO(file, offset);
  }
}

function checkMachO(file: BinaryFile, base: bigint): void {
  // The magic read little-endian: feedface / feedfacf (32 / 64-bit) in a little-endian file, reversed in a big-endian one.
  const magic = file.read(base, 4, 'the Mach-O header').getUint32(0, true);
  if (![0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(magic)) {
    throw new Error('corrupt: a universal slice is not Mach-O; rebuild or reinstall it');
  }
  const little = magic === 0xfeedface || magic === 0xfeedfacf;
  const wide = magic === 0xfeedfacf || magic === 0xcffaedfe;
  const headerSize = wide ? 32 : 28;
  const header = fields(file.read(base, headerSize, 'the Mach-O header'), little);
  const ncmds = header.u32(16);
  const sizeofcmds = header.u32(20);
  const commands = file.read(base + BigInt(headerSize), sizeofcmds, 'the Mach-O load commands');
  const LC_SEGMENT = 0x1;
  const LC_SEGMENT_64 = 0x19;
  for (let i = 0, at = 0; i < ncmds; i++) {
    if (at + 8 > sizeofcmds)
      throw new Error('corrupt: Mach-O load commands overrun their size; rebuild or reinstall it');
    const cmd = fields(new DataView(commands.buffer, at), little);
    const [type, size] = [cmd.u32(0), cmd.u32(4)];
    if (size < 8 || at + size > sizeofcmds) {
      throw new Error('corrupt: Mach-O load commands overrun their size; rebuild or reinstall it');
    }
    if ((type === LC_SEGMENT && size >= 56) || (type === LC_SEGMENT_64 && size >= 72)) {
      const w = type === LC_SEGMENT_64;
      file.within(base + cmd.word(w ? 40 : 32, w), cmd.word(w ? 48 : 36, w), `Mach-O segment ${i}`);
    }
    at += size;
  }
}

function checkPe(file: BinaryFile): void {
  const peOffset = BigInt(file.read(0x3cn, 4, 'the DOS header').getUint32(0, true));
  const coff = fields(file.read(peOffset, 24, 'the PE header'), true);
  if (coff.u32(0) !== 0x00004550) throw new Error("corrupt: no PE signature ('PE\\0\\0'); rebuild or reinstall it");
  const sections = coff.u16(6);
  const table = peOffset + 24n + BigInt(coff.u16(20));
  for (let i = 0; i < sections; i++) {
    const section = fields(file.read(table + BigInt(i * 40), 40, 'the PE section table'), true);
    file.within(BigInt(section.u32(20)), BigInt(section.u32(16)), `PE section ${i}`);
  }
}
