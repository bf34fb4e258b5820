#!/bin/sh
# Run inside the `tools` service of docker/compose.fabric.yaml (NOT run in CI): joins the orderer and both
# peers to `payments`, then installs, approves and commits the Qiao port and receiver chaincode
# (built first with `node adapters/fabric/chaincode/build.mjs`).
set -e
C=/crypto
ORDERER_CA=$C/ordererOrganizations/example.com/orderers/orderer.example.com/tls/ca.crt
export CORE_PEER_TLS_ENABLED=true

osnadmin channel join --channelID payments --config-block $C/payments.block -o orderer.example.com:7053 \
  --ca-file "$ORDERER_CA" --client-cert $C/ordererOrganizations/example.com/orderers/orderer.example.com/tls/server.crt \
  --client-key $C/ordererOrganizations/example.com/orderers/orderer.example.com/tls/server.key || true

as_org() {
  export CORE_PEER_LOCALMSPID="Org$1MSP"
  export CORE_PEER_MSPCONFIGPATH="$C/peerOrganizations/org$1.example.com/users/Admin@org$1.example.com/msp"
  export CORE_PEER_TLS_ROOTCERT_FILE="$C/peerOrganizations/org$1.example.com/peers/peer0.org$1.example.com/tls/ca.crt"
  export CORE_PEER_ADDRESS="peer0.org$1.example.com:$2"
}

for org in "1 7051" "2 9051"; do
  # shellcheck disable=SC2086
  as_org $org
  peer channel join -b $C/payments.block || true
done

for cc in qiaoport qiaoreceiver; do
  peer lifecycle chaincode package /tmp/$cc.tar.gz --path /chaincode/$cc --lang node --label ${cc}_1
  for org in "1 7051" "2 9051"; do
    # shellcheck disable=SC2086
    as_org $org
    peer lifecycle chaincode install /tmp/$cc.tar.gz
    PKG=$(peer lifecycle chaincode queryinstalled | sed -n "s/^Package ID: \(${cc}_1:[0-9a-f]*\),.*/\1/p")
    peer lifecycle chaincode approveformyorg -o orderer.example.com:7050 --tls --cafile "$ORDERER_CA" \
      --channelID payments --name $cc --version 1 --package-id "$PKG" --sequence 1
  done
  peer lifecycle chaincode commit -o orderer.example.com:7050 --tls --cafile "$ORDERER_CA" --channelID payments \
    --name $cc --version 1 --sequence 1 \
    --peerAddresses peer0.org1.example.com:7051 --tlsRootCertFiles $C/peerOrganizations/org1.example.com/peers/peer0.org1.example.com/tls/ca.crt \
    --peerAddresses peer0.org2.example.com:9051 --tlsRootCertFiles $C/peerOrganizations/org2.example.com/peers/peer0.org2.example.com/tls/ca.crt
done
echo "deployed; now invoke qiaoport init with the hub's configuration (adapters/fabric/chaincode/README.md)"
