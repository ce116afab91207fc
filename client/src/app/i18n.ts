/** The client's strings: Italian (the manual's labels) by default, English on request. */
import { createContext, useContext } from 'react';

const it = {
  brand: 'OpiVoice UCC',
  loading: 'Caricamento…',
  loginTitle: 'Autenticazione',
  username: 'Nome utente',
  usernameHint: 'Il tuo interno telefonico',
  password: 'Password',
  login: 'Accedi',
  recoverPassword: 'Recupera password',
  recoverSend: 'Invia link',
  recoverDone: "Se l'interno ha un indirizzo email, riceverai un link per reimpostare la password.",
  backToLogin: "Torna all'accesso",
  required: 'Campo obbligatorio',
  invalidCredentials: 'Nome utente o password non corretti',
  rateLimited: 'Troppi tentativi: riprova più tardi',
  genericError: 'Si è verificato un errore. Riprova.',
  tabChat: 'Chat',
  tabMeeting: 'Meeting',
  profileMenu: 'Menu profilo',
  yourProfile: 'Il tuo profilo',
  settings: 'Impostazioni',
  logout: 'Esci',
  close: 'Chiudi',
  language: 'Lingua',
  darkTheme: 'Tema scuro',
  saving: 'Salvataggio…',
  extension: 'Interno',
  plan: 'Piano',
  chatRooms: 'Conversazioni',
  noChats: 'Nessuna conversazione',
  unread: 'non letti',
  agenda: 'Agenda',
  upcoming: 'Prossimi',
  past: 'Passati',
  noMeetings: 'Nessun meeting',
  invitedCount: 'Invitati: {n}',
  organizer: 'Organizzatore',
  startMeeting: 'Inizia meeting',
  copyLink: 'Copia link',
  linkCopied: 'Link copiato',
  guestLink: 'Link per gli ospiti',
  newMeeting: 'Crea meeting',
  createTitle: 'Nuovo meeting',
  title: 'Titolo',
  start: 'Inizio',
  durationHours: 'Durata (ore)',
  description: 'Descrizione',
  selectParticipants: 'Seleziona i partecipanti',
  searchColleagues: 'Cerca per nome o interno',
  noResults: 'Nessun risultato',
  remove: 'Rimuovi',
  create: 'Crea meeting',
  cancel: 'Annulla',
  created: 'Meeting creato',
  proOnly:
    "La creazione dei meeting è riservata agli utenti con piano PRO. Chiedi all'amministratore di attivarlo.",
  durationInvalid: 'Da 0,25 a 24 ore',
  stateWaiting: 'Programmato',
  stateLive: 'In corso',
  stateExpired: 'Scaduto',
  stateEnded: 'Terminato',
  stateCancelled: 'Annullato',
  guestWelcome: 'Sei stato invitato a un meeting',
  organizedBy: 'Organizzato da {name}',
  yourName: 'Il tuo nome',
  join: 'Partecipa',
  waiting: "In attesa dell'organizzatore…",
  waitingHint: 'Entrerai automaticamente quando l’organizzatore avvierà il meeting.',
  connecting: 'Connessione…',
  linkInvalid: 'Link non valido',
  linkInvalidHint: 'Il link non esiste o non è più valido. Chiedi un nuovo link all’organizzatore.',
  linkExpired: 'Meeting scaduto',
  linkExpiredHint: 'L’orario del meeting è terminato.',
  linkEnded: 'Meeting terminato',
  linkEndedHint: 'L’organizzatore ha terminato il meeting.',
  linkCancelled: 'Meeting annullato',
  linkCancelledHint: 'L’organizzatore ha annullato il meeting.',
  removedTitle: 'Sei stato rimosso',
  removedHint: 'L’organizzatore ti ha rimosso dal meeting.',
  leftTitle: 'Hai lasciato il meeting',
  participants: 'Partecipanti: {n}',
  you: 'Tu',
  mute: 'Disattiva microfono',
  unmute: 'Attiva microfono',
  leave: 'Esci dal meeting',
  reconnecting: 'Riconnessione in corso…',
  mutedByOrganizer: "L'organizzatore ha disattivato il tuo microfono",
  mutedLocked: "L'organizzatore ha disattivato il tuo microfono e lo ha bloccato: non puoi riattivarlo",
  micUnlocked: "L'organizzatore ha sbloccato il tuo microfono: puoi riattivarlo",
  cameraStopped: "L'organizzatore ha disattivato la tua videocamera",
  screenOf: 'Schermo di {name}',
  handRaised: 'Mano alzata',
  micOff: 'Microfono disattivato',
  participantsTab: 'Partecipanti',
  chatTab: 'Chat del meeting',
  muteParticipant: 'Silenzia',
  stopCamera: 'Disattiva video',
  controls: 'Controlli del meeting',
  cameraOff: 'Disattiva videocamera',
  cameraOn: 'Attiva videocamera',
  shareScreen: 'Condividi schermo',
  stopShare: 'Interrompi condivisione',
  raiseHand: 'Alza la mano',
  lowerHand: 'Abbassa la mano',
  endForAll: 'Termina per tutti',
  chatMessage: 'Scrivi un messaggio',
  send: 'Invia',
  locked: 'bloccato',
  backToAgenda: 'Torna all’agenda',
} as const;

export type MessageKey = keyof typeof it;
export type Language = 'it' | 'en';

const en: Record<MessageKey, string> = {
  brand: 'OpiVoice UCC',
  loading: 'Loading…',
  loginTitle: 'Sign in',
  username: 'Username',
  usernameHint: 'Your phone extension',
  password: 'Password',
  login: 'Sign in',
  recoverPassword: 'Recover password',
  recoverSend: 'Send link',
  recoverDone: 'If the extension has an email address, you will receive a link to reset the password.',
  backToLogin: 'Back to sign in',
  required: 'Required',
  invalidCredentials: 'Wrong username or password',
  rateLimited: 'Too many attempts: try again later',
  genericError: 'Something went wrong. Please retry.',
  tabChat: 'Chat',
  tabMeeting: 'Meeting',
  profileMenu: 'Profile menu',
  yourProfile: 'Your profile',
  settings: 'Settings',
  logout: 'Sign out',
  close: 'Close',
  language: 'Language',
  darkTheme: 'Dark theme',
  saving: 'Saving…',
  extension: 'Extension',
  plan: 'Plan',
  chatRooms: 'Conversations',
  noChats: 'No conversations',
  unread: 'unread',
  agenda: 'Agenda',
  upcoming: 'Upcoming',
  past: 'Past',
  noMeetings: 'No meetings',
  invitedCount: 'Invited: {n}',
  organizer: 'Organizer',
  startMeeting: 'Start meeting',
  copyLink: 'Copy link',
  linkCopied: 'Link copied',
  guestLink: 'Guest link',
  newMeeting: 'Create meeting',
  createTitle: 'New meeting',
  title: 'Title',
  start: 'Start',
  durationHours: 'Duration (hours)',
  description: 'Description',
  selectParticipants: 'Select participants',
  searchColleagues: 'Search by name or extension',
  noResults: 'No results',
  remove: 'Remove',
  create: 'Create meeting',
  cancel: 'Cancel',
  created: 'Meeting created',
  proOnly: 'Creating meetings requires the PRO plan. Ask your administrator to enable it.',
  durationInvalid: 'From 0.25 to 24 hours',
  stateWaiting: 'Scheduled',
  stateLive: 'Live',
  stateExpired: 'Expired',
  stateEnded: 'Ended',
  stateCancelled: 'Cancelled',
  guestWelcome: 'You are invited to a meeting',
  organizedBy: 'Organized by {name}',
  yourName: 'Your name',
  join: 'Join',
  waiting: 'Waiting for the organizer…',
  waitingHint: 'You will enter automatically when the organizer starts the meeting.',
  connecting: 'Connecting…',
  linkInvalid: 'Invalid link',
  linkInvalidHint: 'The link does not exist or is no longer valid. Ask the organizer for a new one.',
  linkExpired: 'Meeting expired',
  linkExpiredHint: 'The meeting time is over.',
  linkEnded: 'Meeting ended',
  linkEndedHint: 'The organizer ended the meeting.',
  linkCancelled: 'Meeting cancelled',
  linkCancelledHint: 'The organizer cancelled the meeting.',
  removedTitle: 'You were removed',
  removedHint: 'The organizer removed you from the meeting.',
  leftTitle: 'You left the meeting',
  participants: 'Participants: {n}',
  you: 'You',
  mute: 'Mute microphone',
  unmute: 'Unmute microphone',
  leave: 'Leave meeting',
  reconnecting: 'Reconnecting…',
  mutedByOrganizer: 'The organizer muted your microphone',
  mutedLocked: 'The organizer muted and locked your microphone: you cannot unmute it',
  micUnlocked: 'The organizer unlocked your microphone: you can unmute it',
  cameraStopped: 'The organizer turned off your camera',
  screenOf: "{name}'s screen",
  handRaised: 'Hand raised',
  micOff: 'Microphone off',
  participantsTab: 'Participants',
  chatTab: 'Meeting chat',
  muteParticipant: 'Mute',
  stopCamera: 'Stop video',
  controls: 'Meeting controls',
  cameraOff: 'Turn camera off',
  cameraOn: 'Turn camera on',
  shareScreen: 'Share screen',
  stopShare: 'Stop sharing',
  raiseHand: 'Raise hand',
  lowerHand: 'Lower hand',
  endForAll: 'End for everyone',
  chatMessage: 'Write a message',
  send: 'Send',
  locked: 'locked',
  backToAgenda: 'Back to agenda',
};

const dictionaries: Record<Language, Record<MessageKey, string>> = { it, en };

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(language: Language): Translate {
  const dict = dictionaries[language];
  return (key, vars) => {
    let text = dict[key];
    for (const [name, value] of Object.entries(vars ?? {})) text = text.replace(`{${name}}`, String(value));
    return text;
  };
}

export const I18nContext = createContext<{ language: Language; t: Translate }>({
  language: 'it',
  t: translator('it'),
});

export const useI18n = (): { language: Language; t: Translate } => useContext(I18nContext);

/** Applies the language and theme to the document (lang attribute, data-theme). */
export function applyPreferences(language: Language, darkTheme: boolean): void {
  document.documentElement.lang = language;
  document.documentElement.dataset.theme = darkTheme ? 'dark' : 'light';
  try {
    // Only a hint for the next first paint (before the profile arrives); the server holds the truth.
    localStorage.setItem('ucc.ui', JSON.stringify({ language, darkTheme }));
  } catch {
    // Storage disabled: the profile still applies them.
  }
}

export function storedPreferences(): { language: Language; darkTheme: boolean } {
  try {
    const raw = localStorage.getItem('ucc.ui');
    if (raw) {
      const v = JSON.parse(raw) as { language?: unknown; darkTheme?: unknown };
      return { language: v.language === 'en' ? 'en' : 'it', darkTheme: v.darkTheme === true };
    }
  } catch {
    // Ignore a corrupt hint.
  }
  return { language: 'it', darkTheme: false };
}
