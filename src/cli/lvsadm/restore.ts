// ipvsadm -R input: config_stream.c config_stream_read(). Each line is split at spaces, tabs and
// carriage returns; every word "ipvsadm" is dropped (so saved command lines may keep the program name);
// lines without words are skipped. There are no comments: a '#' is an ordinary word, as in ipvsadm.

export function splitRestoreLines(text: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    const words = line.split(/[ \t\r]+/).filter((w) => w !== '' && w !== 'ipvsadm');
    if (words.length > 0) out.push(words);
  }
  return out;
}
