//! The name search box of the list pages (experiments, models, prompts); pair it with useQueryText.
export function NameSearch({ noun, text, setText }: { noun: string; text: string; setText: (value: string) => void }) {
  return (
    <form class="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
      <input
        class="search"
        type="search"
        data-search
        placeholder={`Search ${noun} by name (press / to focus)`}
        aria-label={`Search ${noun}`}
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
      />
    </form>
  );
}
