// Desktop notifications through Web Push, only when the server has VAPID configured: `GET /api/push/vapid`
// answers {publicKey}. Otherwise (404, or a browser without service workers) the button stays hidden.

/**
 * Shows the notifications toggle when both the browser and the server can do Web Push.
 * @param {{api: import('./api.js').ChatApi, device: string, button: HTMLButtonElement, onProblem: (text: string) => void}} options
 */
export async function offerNotifications({ api, device, button, onProblem }) {
  button.hidden = true;
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) return;
  const vapid = await api.vapid();
  if (!vapid) return;

  const registration = await navigator.serviceWorker.register('/sw.js');
  let subscription = await registration.pushManager.getSubscription();
  const show = () => {
    button.textContent = subscription ? 'Notifications on' : 'Enable notifications';
    button.setAttribute('aria-pressed', String(Boolean(subscription)));
  };
  show();
  button.hidden = false;
  // A subscription the browser kept is registered again: the server may have dropped it (404/410 from the provider).
  if (subscription) api.savePushSubscription(device, subscription.toJSON()).catch(() => {});

  button.onclick = async () => {
    button.disabled = true;
    try {
      if (subscription) {
        const endpoint = subscription.endpoint;
        await subscription.unsubscribe();
        subscription = null;
        await api.deletePushSubscription(device, endpoint).catch(() => {});
      } else {
        if (await Notification.requestPermission() !== 'granted') {
          onProblem('Notifications are blocked for this site.');
          return;
        }
        subscription = await registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: base64UrlToBytes(vapid.publicKey),
        });
        await api.savePushSubscription(device, subscription.toJSON());
      }
    } catch (e) {
      onProblem(`Notifications: ${e.message}`);
    } finally {
      button.disabled = false;
      show();
    }
  };
}

function base64UrlToBytes(text) {
  const base64 = (text + '='.repeat((4 - (text.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(base64), c => c.charCodeAt(0));
}
