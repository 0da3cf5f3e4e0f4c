import { useEffect, useRef } from 'preact/hooks';

export interface Confirmation {
  title: string;
  message: string;
  action: string;
  /** The confirm button's text while the action runs. */
  pending: string;
  run: () => Promise<void>;
}

/** A modal that asks before a stop or a removal; Escape or Cancel closes it. */
export function ConfirmDialog({
  confirmation,
  busy,
  onCancel,
  onConfirm,
}: {
  confirmation: Confirmation;
  busy: boolean;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    dialog.current?.showModal();
    return () => dialog.current?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby="confirm-title"
      onCancel={(event) => {
        event.preventDefault();
        if (!busy) onCancel();
      }}
    >
      <h2 id="confirm-title">{confirmation.title}</h2>
      <p>{confirmation.message}</p>
      <div class="buttons">
        <button type="button" onClick={onCancel} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={onConfirm} disabled={busy}>
          {busy ? confirmation.pending : confirmation.action}
        </button>
      </div>
    </dialog>
  );
}
