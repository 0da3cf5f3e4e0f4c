// What the dashboard shows, as it is kept in the page's address: the group filter and the open
// log, so that a reload, the back button or a shared link shows the same view. Pure.

export interface ViewState {
  /** The group filter; '' for all groups. */
  group: string;
  /** The process whose log is open, if any. */
  logs: string | undefined;
  /** Whether that log is followed. */
  follow: boolean;
}

export const EMPTY_VIEW: ViewState = { group: '', logs: undefined, follow: false };

/** A query string ("?group=a&logs=b&follow=1", or "") -> the view; unknown parameters are ignored. */
export function parseView(search: string): ViewState {
  const params = new URLSearchParams(search);
  const logs = params.get('logs') || undefined;
  return {
    group: params.get('group') ?? '',
    logs,
    // Following means nothing without an open log.
    follow: logs !== undefined && ['1', 'true', 'on'].includes(params.get('follow') ?? ''),
  };
}

/** The view -> a query string that parseView reads back to it: "" for the default view. */
export function formatView(view: ViewState): string {
  const params = new URLSearchParams();
  if (view.group) params.set('group', view.group);
  if (view.logs) {
    params.set('logs', view.logs);
    if (view.follow) params.set('follow', '1');
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function sameView(a: ViewState, b: ViewState): boolean {
  return a.group === b.group && a.logs === b.logs && a.follow === b.follow;
}
