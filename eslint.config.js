// Type-aware lint for every TypeScript file; Prettier owns formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** The product's domain folders under server/: what the infrastructure below them must not import. */
const DOMAIN = ['auth', 'directory', 'meetings', 'chat', 'signaling', 'mail', 'contacts', 'telephony'];
/** The admission side of meetings: the gate and what it is made of. */
const GATE = [
  'server/meetings/AdmissionGate.ts',
  'server/meetings/Moderation.ts',
  'server/meetings/admissionRules.ts',
  'server/meetings/SocketSeats.ts',
  'server/meetings/GraceTimers.ts',
];

function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function without(list, item) {
  return list.filter((x) => x !== item);
}

/** One `no-restricted-imports` block per folder: importing a denied folder (or module) is an error. */
function layers(rules) {
  return rules.map(({ files, ignores, deny, allow = [] }) => ({
    files: files.map((f) => (f.endsWith('**') ? `${f}/*.{ts,tsx}` : f)),
    ...(ignores ? { ignores } : {}),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // A folder by its name (`chat`), a module by its file's name (`MeetingService`); `allow` names the
              // modules of a denied folder that may still be imported (a regex, since a glob cannot re-include a
              // file under an excluded folder).
              regex: `^(?!(?:${allow.map(escapeRegex).join('|') || '$^'})$)(?:.*/)?(?:${deny
                .map((d) => (/^[A-Z]/.test(d) ? `${escapeRegex(d)}\\.js$` : `${escapeRegex(d)}/`))
                .join('|')})`,
              message: 'Dependencies point one way: see "Dependency rules" in docs/architecture.md.',
            },
          ],
        },
      ],
    },
  }));
}

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.ucc/', 'client/dist/', 'test/artifacts/', 'bench/results/'] },
  js.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.node },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      'no-console': 'error',
    },
  },
  {
    // The browser client: DOM globals; projectService finds client/tsconfig.json (lib DOM) for these files.
    files: ['client/src/**/*.ts', 'client/src/**/*.tsx'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // Dependencies point one way (docs/architecture.md, "Dependency rules"). A folder may not import the ones
  // listed for it; ESLint keeps only the last matching setting of a rule, so each file matches one block.
  ...layers([
    // The contract is shared by both ends and depends on neither.
    { files: ['shared/**'], deny: ['server', 'client', 'sfu'] },
    // The browser and its build know the contract, never the server's code or configuration.
    { files: ['client/**'], deny: ['server', 'sfu'] },
    // sfu/ knows media ids only.
    { files: ['sfu/**'], deny: ['server'] },
    // The embedded stack starts processes; it knows nothing of the product's domain.
    // One exception: the Synapse launcher writes the registration from the appservice's identity, a leaf module
    // of constants in the Matrix protocol's home (server/chat/matrix/appservice.ts).
    { files: ['server/stack/**'], deny: [...DOMAIN, 'UccServer'], allow: ['../chat/matrix/appservice.js'] },
    // The directory is the bottom of the domain: users. Its routers are the HTTP edge and use auth's guards.
    {
      files: ['server/directory/**'],
      ignores: ['server/directory/*Router.ts'],
      deny: without(DOMAIN, 'directory'),
    },
    { files: ['server/auth/**'], deny: ['meetings', 'chat', 'signaling'] },
    { files: ['server/meetings/**'], ignores: GATE, deny: ['chat', 'signaling'] },
    // The live side of a meeting is told by the meetings service, never the other way round.
    { files: GATE, deny: ['chat', 'signaling', 'MeetingService'] },
    // The Rubrica knows users (directory) and the request guards (auth); never meetings, chat or the sockets.
    { files: ['server/contacts/**'], deny: ['meetings', 'chat', 'signaling', 'mail', 'telephony'] },
    // The phone edge knows users and the request guards; the Rubrica and meetings never reach into it.
    { files: ['server/telephony/**'], deny: ['meetings', 'chat', 'signaling', 'mail', 'contacts'] },
    { files: ['server/mail/**', 'server/db/**', 'server/util/**', 'server/http/**'], deny: DOMAIN },
  ]),
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
