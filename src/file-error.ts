/**
 * A failed read of a user's file, said in a few words ("no such file") instead of a stack: the
 * CLI prints one line naming the file and this, and the user knows what to fix.
 */

const WORDS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
}

/** `no such file`, `permission denied`, …; an unknown errno code as itself, else the message. */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code
  if (typeof code === 'string') return WORDS[code] ?? code
  return error instanceof Error ? error.message : String(error)
}
