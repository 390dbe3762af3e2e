/**
 * Valid Norwegian person numbers for test data (modulus-11 check digits, classic rule), from a date
 * (DDMMYY), an individnummer and the kind: D-nummer (+4 on the first digit), H-nummer (+40 on the
 * month) or synthetic (+80 on the month). An individnummer whose check digit would be 10 is skipped.
 */
const W1 = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const W2 = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

export function personNumber(
  ddmmyy: string,
  individ: number,
  kind: 'fnr' | 'dnr' | 'hnr' | 'synthetic' = 'fnr',
): string {
  let dd = Number(ddmmyy.slice(0, 2));
  let mm = Number(ddmmyy.slice(2, 4));
  if (kind === 'dnr') dd += 40;
  if (kind === 'hnr') mm += 40;
  if (kind === 'synthetic') mm += 80;
  for (let i = individ; i < individ + 50; i++) {
    const nine = `${String(dd).padStart(2, '0')}${String(mm).padStart(2, '0')}${ddmmyy.slice(4, 6)}${String(i % 1000).padStart(3, '0')}`;
    const d = [...nine].map(Number);
    const k1 = (11 - (W1.reduce((s, w, j) => s + w * d[j], 0) % 11)) % 11;
    if (k1 === 10) continue;
    const k2 = (11 - (W2.reduce((s, w, j) => s + w * [...d, k1][j], 0) % 11)) % 11;
    if (k2 === 10) continue;
    return `${nine}${k1}${k2}`;
  }
  throw new Error(`no valid number near ${ddmmyy}/${individ}`);
}

/** A fødselsnummer valid only under the 2032 rule: its first check digit leaves remainder 1–3, not 0. */
export function personNumber2032(ddmmyy: string, individ: number): string {
  for (let i = individ; i < individ + 50; i++) {
    const nine = `${ddmmyy.slice(0, 4)}${ddmmyy.slice(4, 6)}${String(i % 1000).padStart(3, '0')}`;
    const d = [...nine].map(Number);
    const s = W1.reduce((acc, w, j) => acc + w * d[j], 0);
    const k1 = (((2 - s) % 11) + 11) % 11; // remainder 2
    if (k1 > 9) continue;
    const k2 = (11 - (W2.reduce((acc, w, j) => acc + w * [...d, k1][j], 0) % 11)) % 11;
    if (k2 === 10) continue;
    return `${nine}${k1}${k2}`;
  }
  throw new Error(`no 2032-format number near ${ddmmyy}/${individ}`);
}

/** A distinct valid fødselsnummer for each i below 10 million (for generated test and bench data). */
export function fnrFor(i: number): string {
  const day = (i % 28) + 1;
  const month = (Math.floor(i / 28) % 12) + 1;
  const year = Math.floor(i / 336) % 100;
  const block = Math.floor(i / 33_600); // ten individnumre per block, 000–499 (born 1900–1999)
  const ddmmyy = `${String(day).padStart(2, '0')}${String(month).padStart(2, '0')}${String(year).padStart(2, '0')}`;
  const n = personNumber(ddmmyy, block * 10);
  if (Number(n.slice(6, 9)) >= block * 10 + 10) throw new Error(`no valid number in block ${block} for ${ddmmyy}`);
  return n;
}

/** A valid organisasjonsnummer (modulus 11, weights 3 2 7 6 5 4 3 2) from its first eight digits. */
export function organisationNumber(eight: string): string {
  const w = [3, 2, 7, 6, 5, 4, 3, 2];
  const k = (11 - ([...eight].reduce((s, d, i) => s + Number(d) * w[i], 0) % 11)) % 11;
  if (k === 10) throw new Error(`no check digit for ${eight}: choose other digits`);
  return `${eight}${k}`;
}
