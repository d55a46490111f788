import { useEffect, useState } from "react";
import { Button, StyleSheet, Text, TextInput, View } from "react-native";
import type { ParleyClient } from "@parley/client";
import { ParleyProvider } from "./hooks";
import { connect, type SignIn } from "./parley";
import { ConnectionBanner } from "./screens/ConnectionBanner";
import { ConversationListScreen } from "./screens/ConversationListScreen";
import { ConversationScreen } from "./screens/ConversationScreen";

/** Sign in (development tokens from the example web server), then the list and a conversation. */
export function App({ connectClient = connect }: { connectClient?: (signIn: SignIn) => ParleyClient }) {
  const [client, setClient] = useState<ParleyClient | undefined>(undefined);
  useEffect(() => () => void client?.close(), [client]);
  if (!client) return <SignInScreen onSignIn={(s) => setClient(connectClient(s))} />;
  return (
    <ParleyProvider client={client}>
      <View style={styles.app}>
        <ConnectionBanner />
        <Chat />
      </View>
    </ParleyProvider>
  );
}

function Chat() {
  const [open, setOpen] = useState<string | undefined>(undefined);
  return open ? <ConversationScreen conversationId={open} onBack={() => setOpen(undefined)} /> : <ConversationListScreen onOpen={setOpen} />;
}

function SignInScreen({ onSignIn }: { onSignIn: (s: SignIn) => void }) {
  const [gatewayUrl, setGatewayUrl] = useState("http://10.0.2.2:3000");
  const [devServerUrl, setDevServerUrl] = useState("http://10.0.2.2:8080");
  const [userId, setUserId] = useState("alice");
  return (
    <View style={styles.app}>
      <View style={styles.form}>
        <Text style={styles.title}>Parley (development sign-in)</Text>
        <TextInput value={gatewayUrl} onChangeText={setGatewayUrl} placeholder="Gateway URL" autoCapitalize="none" style={styles.input} testID="gateway-url" />
        <TextInput value={devServerUrl} onChangeText={setDevServerUrl} placeholder="Web example URL (dev tokens)" autoCapitalize="none" style={styles.input} />
        <TextInput value={userId} onChangeText={setUserId} placeholder="User id" autoCapitalize="none" style={styles.input} testID="user-id" />
        <Button title="Sign in" onPress={() => onSignIn({ gatewayUrl, devServerUrl, userId, name: userId })} testID="sign-in" />
      </View>
    </View>
  );
}

const styles = StyleSheet.create({
  app: { flex: 1 },
  form: { padding: 16, gap: 8 },
  title: { fontSize: 20, fontWeight: "600" },
  input: { borderWidth: 1, borderColor: "#d1d5db", borderRadius: 6, padding: 8 },
});
