import { StyleSheet, Text, View } from "react-native";
import { useConnectionState } from "../hooks";

/** Says why the app is not online and when it tries again; nothing while online. */
export function ConnectionBanner() {
  const { current, reason, retryInMs } = useConnectionState();
  if (current === "online") return null;
  const text =
    current === "unauthorized"
      ? "Signed out: the token was refused."
      : current === "connecting"
        ? "Connecting…"
        : current === "closed"
          ? "Closed."
          : reason === "disconnect"
            ? "Paused (the app is in the background)."
            : reason === "network-offline"
              ? "No network: messages you write are kept and sent when it returns."
              : `Offline (${reason}): retrying${retryInMs !== undefined ? ` in ${Math.ceil(retryInMs / 1000)} s` : ""}.`;
  return (
    <View style={styles.banner} accessibilityRole="alert" testID="connection-banner">
      <Text style={styles.text}>{text}</Text>
    </View>
  );
}

const styles = StyleSheet.create({
  banner: { backgroundColor: "#fde68a", padding: 8 },
  text: { color: "#713f12" },
});
