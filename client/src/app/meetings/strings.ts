/** The strings of joining a meeting by phone (agenda card, guest page), merged into the app's dictionaries by i18n.ts. */

export const meetingsIt = {
  dialInTitle: 'Partecipa per telefono',
  dialInLine: 'chiama {extension}, PIN {pin}',
} as const;

export type MeetingsMessageKey = keyof typeof meetingsIt;

export const meetingsEn: Record<MeetingsMessageKey, string> = {
  dialInTitle: 'Join by phone',
  dialInLine: 'call {extension}, PIN {pin}',
};
