/** Keyset paging controls: first page, next page (the answer's nextCursor). */
export function Pager({
  page,
  hasNext,
  onFirst,
  onNext,
  testId,
  label,
}: {
  page: number;
  hasNext: boolean;
  onFirst: () => void;
  onNext: () => void;
  testId: string;
  /** Names the pager's landmark: "Pages of failed tasks" (unique on the page). */
  label: string;
}) {
  return (
    <nav class="pager" aria-label={`Pages of ${label}`}>
      <span data-testid={`${testId}-page`}>Page {page}</span>
      <button
        type="button"
        class="button"
        onClick={onFirst}
        disabled={page === 1}
        data-testid={`${testId}-first`}
      >
        First page
      </button>
      <button
        type="button"
        class="button"
        onClick={onNext}
        disabled={!hasNext}
        data-testid={`${testId}-next`}
      >
        Next page
      </button>
    </nav>
  );
}
