import ICAL from 'ical.js';
import type { NumberType } from '../../../shared/schemas/contacts.js';
import type { ExportContact, ImportCandidate } from './ImportCandidate.js';
import { InvalidFileError } from './InvalidFileError.js';
import { normalizeVcardText } from './vcardText.js';

/** A jCal property: [name, params, type, ...values]. */
type JProperty = [string, Record<string, unknown>, string, ...unknown[]];

/** The vCard parameter our exports carry a speed dial in (clients keep unknown X- parameters, or drop them). */
const SPEED_DIAL_PARAM = 'x-speeddial';

/** Reads every card of a vCard file (2.1, 3.0, 4.0). A file that is not vCard at all is INVALID_FILE. */
export function parseVcards(text: string, maxCards: number): ImportCandidate[] {
  if (!/^\s*BEGIN:VCARD/i.test(text)) throw new InvalidFileError('The file is not a vCard (no BEGIN:VCARD)');
  const begins = (text.match(/^BEGIN:VCARD/gim) ?? []).length;
  const ends = (text.match(/^END:VCARD/gim) ?? []).length;
  if (begins !== ends)
    throw new InvalidFileError(`The vCard file is broken: ${begins} BEGIN:VCARD, ${ends} END:VCARD`);
  if (begins > maxCards)
    throw new InvalidFileError(`The file has ${begins} cards; at most ${maxCards} are imported`);
  let parsed: unknown;
  try {
    parsed = ICAL.parse(normalizeVcardText(text));
  } catch (err) {
    throw new InvalidFileError(
      `The vCard file is broken: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  // One card parses to a component, several to a list of them.
  const cards = (Array.isArray(parsed) && parsed[0] === 'vcard' ? [parsed] : parsed) as unknown[];
  return cards.map((card, i) => {
    if (!Array.isArray(card) || card[0] !== 'vcard' || !Array.isArray(card[1])) {
      return emptyCandidate(i + 1, 'not a vCard component');
    }
    return candidateOf(i + 1, card[1] as JProperty[]);
  });
}

function emptyCandidate(row: number, problem: string): ImportCandidate {
  return { row, lastName: '', firstName: '', company: '', notes: '', numbers: [], problem };
}

function candidateOf(row: number, props: JProperty[]): ImportCandidate {
  const first = (name: string): JProperty | undefined => props.find((p) => p[0] === name);
  const all = (name: string): JProperty[] => props.filter((p) => p[0] === name);
  const c = emptyCandidate(row, '');
  delete c.problem;
  const n = first('n');
  if (n) {
    const parts = components(n[3]);
    c.lastName = parts[0] ?? '';
    c.firstName = [parts[1], parts[2]].filter((s) => s).join(' ');
  }
  const fn = text(first('fn')?.[3]);
  c.company = components(first('org')?.[3])[0] ?? '';
  // A card without N: its FN is the name, unless it is the company's (a business card).
  if (!c.lastName && !c.firstName && fn && fn !== c.company) c.lastName = fn;
  c.notes = text(first('note')?.[3]);
  const uid = text(first('uid')?.[3]);
  if (uid) c.externalId = uid;
  const categories = first('categories');
  if (categories)
    c.categoryNames = categories
      .slice(3)
      .flatMap((v) => components(v))
      .filter((s) => s);
  const cls = text(first('class')?.[3]).toUpperCase();
  if (cls === 'PRIVATE' || cls === 'CONFIDENTIAL') c.personal = true;
  for (const tel of all('tel')) {
    const number = text(tel[3]).replace(/^tel:/i, '').trim();
    if (!number) continue;
    const speedDial = tel[1][SPEED_DIAL_PARAM];
    // iPhone puts a number's label on another line of the same group ("item1.X-ABLabel:_$!<Work>!$_").
    const group = tel[1].group;
    const label = props.find((p) => p[0] === 'x-ablabel' && group !== undefined && p[1].group === group);
    c.numbers.push({
      type: typeOf(tel[1].type, label ? text(label[3]) : undefined),
      number,
      speedDial: typeof speedDial === 'string' ? speedDial : undefined,
    });
  }
  const photo = first('photo');
  if (photo) c.photo = photoOf(photo);
  return c;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return value.map(text).join(' ').trim();
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';
}

/** A structured value (N, ORG) as its components; ical.js gives a string when there is only one. */
function components(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => text(v));
  return [text(value)];
}

/** vCard TEL types to ours: CELL (and iPhone's "iPhone") is mobile, FAX wins over WORK/HOME. */
function typeOf(param: unknown, label?: string): NumberType {
  const types = (Array.isArray(param) ? param : [param])
    .filter((t): t is string => typeof t === 'string')
    .flatMap((t) => t.split(','))
    .map((t) => t.trim().toLowerCase());
  const labelled = label
    ?.replace(/^_\$!<(.*)>!\$_$/, '$1')
    .trim()
    .toLowerCase();
  if (labelled) types.push(labelled === 'iphone' ? 'cell' : labelled);
  if (types.includes('fax')) return 'fax';
  if (types.some((t) => t === 'cell' || t === 'mobile' || t === 'iphone')) return 'mobile';
  if (types.includes('work')) return 'work';
  if (types.includes('home')) return 'home';
  return 'other';
}

function photoOf(prop: JProperty): ImportCandidate['photo'] {
  const value = text(prop[3]);
  const data = /^data:image\/[a-z0-9.+-]+;base64,(.*)$/is.exec(value);
  if (data?.[1]) return { data: Buffer.from(data[1], 'base64') };
  const encoding = prop[1].encoding;
  if (prop[2] === 'binary' || (typeof encoding === 'string' && /^b(ase64)?$/i.test(encoding))) {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) return undefined;
    return { data: Buffer.from(value, 'base64') };
  }
  return value ? { uri: value } : undefined;
}

const TEL_TYPES: Record<NumberType, string[]> = {
  mobile: ['cell', 'voice'],
  work: ['work', 'voice'],
  home: ['home', 'voice'],
  fax: ['work', 'fax'],
  other: ['voice'],
};

/** vCard 3.0, the version every phone and Outlook import; a re-import gives back what was exported. */
export function writeVcards(contacts: readonly ExportContact[]): string {
  return contacts.map(writeVcard).join('');
}

function writeVcard(c: ExportContact): string {
  const props: JProperty[] = [
    ['version', {}, 'text', '3.0'],
    ['uid', {}, 'text', c.key],
    ['n', {}, 'text', [c.lastName, c.firstName, '', '', '']],
    ['fn', {}, 'text', [c.firstName, c.lastName].filter((s) => s).join(' ') || c.company],
  ];
  if (c.company) props.push(['org', {}, 'text', [c.company]]);
  for (const n of c.numbers) {
    const params: Record<string, unknown> = { type: TEL_TYPES[n.type] };
    if (n.speedDial !== undefined) params[SPEED_DIAL_PARAM] = n.speedDial;
    props.push(['tel', params, 'phone-number', n.number]);
  }
  if (c.notes) props.push(['note', {}, 'text', c.notes]);
  if (c.categoryName) props.push(['categories', {}, 'text', c.categoryName]);
  if (c.personal) props.push(['class', {}, 'text', 'PRIVATE']);
  if (c.photoJpeg)
    props.push(['photo', { encoding: 'b', type: 'JPEG' }, 'binary', c.photoJpeg.toString('base64')]);
  else if (c.photoUri) props.push(['photo', { value: 'uri' }, 'uri', c.photoUri]);
  return new ICAL.Component(['vcard', props, []]).toString() + '\r\n';
}
