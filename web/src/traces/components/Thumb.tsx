/** A thumbs-up or thumbs-down mark drawn as SVG (emoji fonts are not on every machine). */
export function Thumb({ up }: { up: boolean }) {
  return (
    <svg className={up ? 'thumb-icon thumb-up' : 'thumb-icon thumb-down'} viewBox="0 0 24 24" width="14" height="14" aria-hidden="true" style={up ? undefined : { transform: 'scaleY(-1)' }}>
      <path
        fill="currentColor"
        d="M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L13.17 1 6.59 7.59C6.22 7.95 6 8.45 6 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z"
      />
    </svg>
  );
}
