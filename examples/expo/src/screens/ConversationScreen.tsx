import { useEffect, useState } from "react";
import { Button, FlatList, StyleSheet, Text, TextInput, View } from "react-native";
import type { ChatMessage } from "@parley/client";
import { useConversation, useParley } from "../hooks";

/** One conversation: messages (own pending/failed marked), typing, older/newer paging, a composer. */
export function ConversationScreen({ conversationId, onBack }: { conversationId: string; onBack: () => void }) {
  const client = useParley();
  const { view, messages, typing, hasOlder, hasNewer } = useConversation(conversationId);
  const [draft, setDraft] = useState("");
  const lastSeq = lastStoredSeq(messages);

  // What is on screen is read: the SDK coalesces the watermark and lowers the unread count.
  useEffect(() => {
    if (lastSeq > 0 && !hasNewer) view.markShown(lastSeq);
  }, [view, lastSeq, hasNewer]);

  const send = () => {
    const body = draft.trim();
    if (!body) return;
    view.send(body);
    setDraft("");
  };

  return (
    <View style={styles.screen}>
      <Button title="Back" onPress={onBack} />
      {hasOlder && <Button title="Load older" onPress={() => void view.loadOlder()} testID="load-older" />}
      <FlatList
        data={messages}
        keyExtractor={(m) => m.key}
        renderItem={({ item }) => <MessageRow message={item} onRetry={() => client.retry(item.clientMessageId)} />}
        testID="messages"
      />
      {hasNewer && <Button title="Load newer" onPress={() => void view.loadNewer()} testID="load-newer" />}
      {typing.length > 0 && <Text style={styles.typing}>{typing.map((t) => t.userName).join(", ")} typing…</Text>}
      <View style={styles.composer}>
        <TextInput
          style={styles.input}
          value={draft}
          placeholder="Message"
          onChangeText={(text) => {
            setDraft(text);
            view.input();
          }}
          onSubmitEditing={send}
          testID="composer"
        />
        <Button title="Send" onPress={send} testID="send" />
      </View>
    </View>
  );
}

function MessageRow({ message, onRetry }: { message: ChatMessage; onRetry: () => void }) {
  return (
    <View style={[styles.row, message.own && styles.own]} testID={`message-${message.key}`}>
      <Text style={styles.sender}>{message.senderName}</Text>
      <Text>{message.body ?? "(deleted)"}</Text>
      {message.status === "pending" && <Text style={styles.status}>sending…</Text>}
      {message.status === "failed" && (
        <Text style={styles.failed} onPress={onRetry}>
          not sent ({message.error?.code}): tap to retry
        </Text>
      )}
    </View>
  );
}

function lastStoredSeq(messages: readonly ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const seq = messages[i]!.seq;
    if (seq !== undefined) return seq;
  }
  return 0;
}

const styles = StyleSheet.create({
  screen: { flex: 1 },
  row: { padding: 8 },
  own: { alignItems: "flex-end" },
  sender: { fontWeight: "600" },
  status: { color: "#6b7280", fontSize: 12 },
  failed: { color: "#b91c1c", fontSize: 12 },
  typing: { color: "#6b7280", padding: 8 },
  composer: { flexDirection: "row", padding: 8, gap: 8 },
  input: { flex: 1, borderWidth: 1, borderColor: "#d1d5db", borderRadius: 6, paddingHorizontal: 8 },
});
