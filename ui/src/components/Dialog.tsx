//! A modal form with one text field (create, rename) or none (confirm), using <dialog> so focus
//! and Escape behave natively. Errors from the API stay in the dialog.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBanner } from './Status';

export interface DialogProps {
  title: string;
  /** The text field's label; without it the dialog only confirms. */
  label?: string;
  initial?: string;
  submitLabel: string;
  danger?: boolean;
  children?: ComponentChildren;
  onSubmit: (value: string) => Promise<void>;
  onClose: () => void;
}

export function Dialog(props: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState(props.initial ?? '');
  const [error, setError] = useState<Error>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    ref.current?.showModal();
  }, []);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await props.onSubmit(value.trim());
      props.onClose();
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };

  return (
    <dialog ref={ref} onClose={props.onClose} aria-label={props.title}>
      <form onSubmit={submit}>
        <h2 style={{ margin: 0 }}>{props.title}</h2>
        {props.children}
        {props.label && (
          <label>
            <div class="muted">{props.label}</div>
            <input
              name="value"
              value={value}
              onInput={(e) => setValue((e.target as HTMLInputElement).value)}
              autoFocus
              style={{ width: '100%' }}
            />
          </label>
        )}
        {error && <ErrorBanner error={error} />}
        <div class="buttons">
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class={props.danger ? 'primary danger-fill' : 'primary'} disabled={busy || (!!props.label && !value.trim())}>
            {props.submitLabel}
          </button>
        </div>
      </form>
    </dialog>
  );
}
