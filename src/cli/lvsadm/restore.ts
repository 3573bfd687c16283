// ipvsadm -R input: config_stream.c config_stream_read(). Each line is split at spaces, tabs and
// carriage returns; every word "ipvsadm" is dropped (so saved command lines may keep the program name);
// lines without words are skipped. There are no comments: a '#' is an ordinary word, as in ipvsadm.

export function splitRestoreLines(text: string): string[][] {
  // Tabs and carriage returns become spaces in one pass, so that each line splits on a plain string (a
  // regular expression per line was ~10 % of an 11,000-line restore in the emulated test VM).
  const spaced = text.replace(/[\t\r]/g, ' ');
  const out: string[][] = [];
  for (const line of spaced.split('\n')) {
    const words: string[] = [];
    for (const w of line.split(' ')) if (w !== '' && w !== 'ipvsadm') words.push(w);
    if (words.length > 0) out.push(words);
  }
  return out;
}
