import { useState } from 'preact/hooks';
import { isCategory, taskKeyProblem } from '../lib/uint64';
import { taskHref } from '../lib/route';

/** Category + key → the task page. The key stays text (uint64 digits), never a Number. */
export function FindTaskForm({ cate }: { cate: string }) {
  const [category, setCategory] = useState(cate);
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const submit = (e: Event) => {
    e.preventDefault();
    const c = category.trim();
    if (!isCategory(c)) {
      setProblem('A category is 1 to 128 characters from A-Z a-z 0-9 . _ : -');
      return;
    }
    const keyProblem = taskKeyProblem(key);
    if (keyProblem) {
      setProblem(keyProblem);
      return;
    }
    setProblem(null);
    location.hash = taskHref(c, key.trim());
  };
  return (
    <form
      class="form form-inline"
      onSubmit={submit}
      aria-label="Find a task"
      data-testid="task-find-form"
    >
      <div class="field">
        <label for="task-find-cate">Category</label>
        <input
          id="task-find-cate"
          value={category}
          onInput={(e) => setCategory(e.currentTarget.value)}
          autoComplete="off"
          spellcheck={false}
          data-testid="task-cate-input"
        />
      </div>
      <div class="field">
        <label for="task-find-key">Key</label>
        <input
          id="task-find-key"
          inputMode="numeric"
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          autoComplete="off"
          spellcheck={false}
          aria-invalid={problem ? true : undefined}
          aria-describedby={problem ? 'task-find-problem' : 'task-find-hint'}
          data-testid="task-key-input"
        />
        <span id="task-find-hint" class="hint">
          1 to 18446744073709551615
        </span>
      </div>
      <button type="submit" class="button button-primary" data-testid="task-find-submit">
        Show task
      </button>
      {problem ? (
        <p
          id="task-find-problem"
          class="note note-error"
          role="alert"
          data-testid="task-find-error"
        >
          {problem}
        </p>
      ) : null}
    </form>
  );
}
