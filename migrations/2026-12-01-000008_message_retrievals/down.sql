DROP TABLE message_retrievals;
