import { randomInt } from 'node:crypto';

/** Random run names in MLflow's `adjective-noun-NNN` style, for runs created without a name. */
const ADJECTIVES = [
  'amazing', 'bold', 'brave', 'bright', 'calm', 'capable', 'clean', 'clever', 'crisp', 'dapper',
  'eager', 'elegant', 'fearless', 'gentle', 'glowing', 'grand', 'honest', 'jolly', 'keen', 'kind',
  'lucky', 'merry', 'mighty', 'nimble', 'polite', 'quick', 'quiet', 'rare', 'sleek', 'smart',
  'steady', 'sunny', 'swift', 'tender', 'tidy', 'upbeat', 'vivid', 'warm', 'wise', 'zealous',
];
const NOUNS = [
  'ant', 'bass', 'bat', 'bear', 'bird', 'cat', 'colt', 'crab', 'crane', 'deer', 'dove', 'duck',
  'eel', 'elk', 'finch', 'fox', 'frog', 'goat', 'gull', 'hare', 'hawk', 'hen', 'heron', 'horse',
  'jay', 'koi', 'lark', 'lynx', 'mole', 'moth', 'newt', 'owl', 'ox', 'panda', 'pike', 'quail',
  'ram', 'robin', 'seal', 'shrew', 'slug', 'snail', 'squid', 'stag', 'swan', 'toad', 'trout',
  'wasp', 'whale', 'wolf', 'wren', 'yak',
];

export function randomRunName(): string {
  const adjective = ADJECTIVES[randomInt(ADJECTIVES.length)];
  const noun = NOUNS[randomInt(NOUNS.length)];
  return `${adjective}-${noun}-${randomInt(1000)}`;
}
